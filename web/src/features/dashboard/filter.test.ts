import { describe, expect, it } from "vitest";
import type { LatestStatus } from "../../api/types";
import { SEVERITY_ORDER } from "../../status/statuses";
import { countByStatus, filterServices, labelPairs, NO_FILTER } from "./filter";

const svc = (id: string, code: 0 | 1 | 2, type = "api_endpoint"): LatestStatus => ({
  service_id: id,
  service_type: type,
  status_code: code,
  status: ["OK", "DEGRADED", "FAILED"][code],
  message: `${id} message`,
  last_check: "",
  response_time_ms: null,
  cpu_usage: null,
  memory_usage: null,
  agent_id: "node-a",
  caused_by: [],
  silent: false,
  stale_at: null,
  label: `${id} label`,
  labels: type === "database" ? { zone: "eu" } : {},
});

describe("filterServices", () => {
  const list = [svc("web", 0), svc("db", 2, "database"), svc("api", 1), svc("cache", 2)];
  it("puts the worst first and filters by text, type and status", () => {
    expect(filterServices(list, NO_FILTER, SEVERITY_ORDER).map((s) => s.service_id)).toEqual([
      "cache",
      "db",
      "api",
      "web",
    ]);
    expect(filterServices(list, { ...NO_FILTER, text: "WE" }, SEVERITY_ORDER).map((s) => s.service_id)).toEqual([
      "web",
    ]);
    expect(filterServices(list, { ...NO_FILTER, type: "database" }, SEVERITY_ORDER)).toHaveLength(1);
    expect(filterServices(list, { ...NO_FILTER, status: 2 }, SEVERITY_ORDER)).toHaveLength(2);
    expect(filterServices(list, { ...NO_FILTER, label: "zone=eu" }, SEVERITY_ORDER).map((s) => s.service_id)).toEqual(["db"]);
    expect(labelPairs(list)).toEqual(["zone=eu"]);
  });
  it("counts per status", () => {
    expect(countByStatus(list)).toEqual([1, 1, 2, 0, 0, 0]);
  });
});
