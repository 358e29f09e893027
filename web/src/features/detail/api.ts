// The service page's API: one service's history (raw points, buckets,
// the range summary, gaps) and the React Query keys it is cached under.
import { api } from "../../api/client";
import type { components } from "../../api/schema";

type Schemas = components["schemas"];

export type Latency = Schemas["Latency"];
export type Stats = Schemas["Stats"];
export type Bucket = Schemas["Bucket"];
export type Buckets = Schemas["Buckets"];
export type Summary = Schemas["Summary"];
export type HistoryPoint = Schemas["HistoryPoint"];
/** A stretch with no data: an agent's full spool dropped the results. */
export type HistoryGap = Schemas["HistoryGap"];
export type History = Schemas["History"];
/** An unusual hour of response time or error rate. */
export type AnomalyView = Schemas["AnomalyView"];
export type Anomalies = Schemas["Anomalies"];

export const RANGES = [
  { name: "1h", ms: 3600e3, step: "1m" },
  { name: "24h", ms: 86400e3, step: "15m" },
  { name: "7d", ms: 7 * 86400e3, step: "1h" },
  { name: "30d", ms: 30 * 86400e3, step: "6h" },
  { name: "90d", ms: 90 * 86400e3, step: "1d" },
] as const;

export type Range = (typeof RANGES)[number];

const enc = encodeURIComponent;

export const history = {
  buckets: (id: string, r: Range, signal?: AbortSignal) =>
    api.get<Buckets>(`/api/services/${enc(id)}/history?from=${new Date(Date.now() - r.ms).toISOString()}&step=${r.step}`, signal),
  summary: (id: string, r: Range, signal?: AbortSignal) =>
    api.get<Summary>(`/api/services/${enc(id)}/metrics?from=${new Date(Date.now() - r.ms).toISOString()}`, signal),
  latest: (id: string, signal?: AbortSignal) =>
    api.get<History>(`/api/services/${enc(id)}/history?limit=1`, signal),
  anomalies: (id: string, r: Range, signal?: AbortSignal) =>
    api.get<Anomalies>(`/api/services/${enc(id)}/anomalies?from=${new Date(Date.now() - r.ms).toISOString()}`, signal),
  /** The gaps full spools left in the range (raw history, one point read). */
  gaps: (id: string, r: Range, signal?: AbortSignal) =>
    api
      .get<History>(`/api/services/${enc(id)}/history?from=${new Date(Date.now() - r.ms).toISOString()}&limit=1`, signal)
      .then((h) => h.gaps),
};

/** Query keys: everything of one service sits under `service(id)`. */
export const detailKeys = {
  service: (id: string) => ["service", id] as const,
  buckets: (id: string, range: string) => [...detailKeys.service(id), "buckets", range] as const,
  summary: (id: string, range: string) => [...detailKeys.service(id), "summary", range] as const,
  gaps: (id: string, range: string) => [...detailKeys.service(id), "gaps", range] as const,
  anomalies: (id: string, range: string) => [...detailKeys.service(id), "anomalies", range] as const,
  latest: (id: string, lastCheck?: string) => [...detailKeys.service(id), "latest", lastCheck] as const,
};
