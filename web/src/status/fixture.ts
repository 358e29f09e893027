// One service status for component tests.
import type { LatestStatus } from "../api/types";

export const statusFixture: LatestStatus = {
  service_id: "web",
  service_type: "api_endpoint",
  status_code: 0,
  status: "OK",
  message: "HTTP 200",
  last_check: "2026-01-01T00:00:00.000Z",
  response_time_ms: 3,
  cpu_usage: null,
  memory_usage: null,
  agent_id: "a",
  caused_by: [],
  label: "Web",
  labels: {},
  silent: false,
  stale_at: null,
};
