// History: raw points and time buckets of one service.
import { api } from "./client";

export interface Latency {
  min: number;
  avg: number;
  max: number;
  p50: number;
  p95: number;
  p99: number;
}

export interface Stats {
  count: number;
  ok: number;
  degraded: number;
  failed: number;
  other: number;
  uptime_pct: number | null;
  error_rate: number | null;
  response_time_ms: Latency | null;
  cpu_usage_avg: number | null;
  memory_usage_avg: number | null;
}

export interface Bucket extends Stats {
  start: string;
}

export interface Buckets {
  service_id: string;
  step_ms: number;
  buckets: Bucket[];
}

export interface Summary extends Stats {
  service_id: string;
  from: string;
  to: string;
}

export interface HistoryPoint {
  timestamp: string;
  status_code: number;
  status: string;
  message: string;
  response_time_ms: number | null;
  details: unknown;
  agent_id: string;
}

/** A stretch with no data: an agent's full spool dropped the results. */
export interface HistoryGap {
  agent_id: string;
  dropped: number;
  from: string;
  to: string;
  message: string;
}

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
    api.get<{ points: HistoryPoint[] }>(`/api/services/${enc(id)}/history?limit=1`, signal),
  /** The gaps full spools left in the range (raw history, one point read). */
  gaps: (id: string, r: Range, signal?: AbortSignal) =>
    api
      .get<{ gaps: HistoryGap[] }>(`/api/services/${enc(id)}/history?from=${new Date(Date.now() - r.ms).toISOString()}&limit=1`, signal)
      .then((h) => h.gaps),
};
