// Types of the collector's REST API and SSE stream: generated from its
// OpenAPI document (`schema.d.ts`, `npm run gen:api`), narrowed where the
// document is wider than the API (status codes are 0–5).
import type { components } from "./schema";

type Schemas = components["schemas"];

/** Status codes 0–5, as the API sends them. */
export type StatusCode = 0 | 1 | 2 | 3 | 4 | 5;

/** One service's current status (`/api/status`). */
export type LatestStatus = Omit<Schemas["LatestStatus"], "status_code"> & { status_code: StatusCode };

/** One status change on `/api/status/stream`. */
export type StatusEvent = Omit<Schemas["StatusEvent"], "status_code" | "previous_status_code"> & {
  status_code: StatusCode;
  previous_status_code?: StatusCode | null;
};

/** An agent as `/api/agents` shows it. */
export type Agent = Schemas["AgentView"];

/** An agent's spool, from its last heartbeat. */
export type AgentSpool = Schemas["SpoolView"];

/** The API's error body: `{"error": {code, message, field}}`. */
export type ApiErrorBody = Schemas["ErrorBody"];
