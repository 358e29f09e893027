// SLA reports (`GET /api/reports/sla`): availability per service against
// its objective over a period, by a declared method; also as CSV and PDF.
import { api } from "../../api/client";
import type { components } from "../../api/schema";

type Schemas = components["schemas"];
export type SlaReport = Schemas["SlaReport"];
export type SlaRow = Schemas["SlaRow"];
export type Capacity = Schemas["Capacity"];
export type GaugeForecast = Schemas["GaugeForecast"];
export type FoundAnomaly = Schemas["FoundAnomaly"];

export interface SlaQuery {
  days: number;
  degraded: "up" | "down";
  maintenance: "exclude" | "include";
  objective: number;
}

export const slaKeys = {
  of: (q: SlaQuery) => ["sla", q] as const,
};

/** The report's address; `format` csv or pdf for a download. The period ends now (to the minute). */
export function slaUrl(q: SlaQuery, format: "json" | "csv" | "pdf" = "json"): string {
  const to = Math.floor(Date.now() / 60_000) * 60_000;
  const p = new URLSearchParams({
    from: String(to - q.days * 86_400_000),
    to: String(to),
    degraded: q.degraded,
    maintenance: q.maintenance,
    objective: String(q.objective),
    format,
  });
  return `/api/reports/sla?${p}`;
}

export const sla = (q: SlaQuery, signal?: AbortSignal) => api.get<SlaReport>(slaUrl(q), signal);

/** Gauges with a limit and when they reach it, `horizonDays` ahead. */
export const capacity = (horizonDays: number, signal?: AbortSignal) =>
  api.get<Capacity>(`/api/capacity?horizon=${horizonDays}d`, signal);

/** Unusual hours the scanner stored in the last day, fleet-wide. */
export const anomalies = (signal?: AbortSignal) => api.get<Schemas["FoundAnomalies"]>("/api/anomalies", signal);
