// DTOs of the collector's REST API and SSE stream (see /api/openapi.json).

/** Status codes 0–5, as the API sends them. */
export type StatusCode = 0 | 1 | 2 | 3 | 4 | 5;

export interface LatestStatus {
  service_id: string;
  service_type: string;
  status_code: StatusCode;
  status: string;
  message: string;
  last_check: string;
  response_time_ms: number | null;
  cpu_usage: number | null;
  memory_usage: number | null;
  agent_id: string;
  caused_by: string[];
  /** The catalog's display label ("" outside the catalog). */
  label: string;
  /** Agent labels the catalog gives the service. */
  labels: Record<string, string>;
  /** UNKNOWN because no result arrived within the grace (the message names the agent). */
  silent: boolean;
  /** When this result goes stale if no newer one arrives; null when not checked. */
  stale_at: string | null;
}

/** One status change on `/api/status/stream`. */
export interface StatusEvent {
  id: number;
  service_id: string;
  status_code: StatusCode;
  status: string;
  previous_status_code: StatusCode | null;
  message: string;
  last_check: string;
  response_time_ms: number | null;
  agent_id: string;
}

export interface Agent {
  agent_id: string;
  hostname: string;
  version: string;
  labels: Record<string, string>;
  local_checks: string[];
  assigned_checks: string[];
  last_seen: string;
  connected: boolean;
  /** Checks the agent is alive for but behind on: no free run slot, or a run past its timeout. */
  late_checks: { service_id: string; late_ms: number; reason: string }[];
  /** Its spool as its last heartbeat described it; null before the first. */
  spool: AgentSpool | null;
}

export interface AgentSpool {
  /** Results waiting for acknowledgement. */
  depth: number;
  /** Bytes on disk. */
  bytes: number;
  /** Results dropped because the spool was full, over its whole life. */
  dropped_total: number;
  /** Seconds since the oldest waiting result was checked; null when none waits. */
  oldest_age: number | null;
  last_drop: string | null;
  /** Dropped results within the last ten minutes. */
  dropping: boolean;
}

/** The API's error body: `{"error": {code, message, field}}`. */
export interface ApiErrorBody {
  error: { code: string; message: string; field?: string | null };
}
