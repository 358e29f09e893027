// A rule as the editor holds it (strings, as typed) and back: from a
// stored rule (durations in ms) to the fields, and from the fields to the
// API's body (durations as `5m`). The API checks everything and names the
// field it refuses; the editor shows that next to the field.
import type { components } from "../../api/schema";

type Schemas = components["schemas"];
export type Rule = Schemas["Rule"];
export type Channel = Schemas["Channel"];
export type ConditionKind = Schemas["Condition"]["kind"];

export const CONDITIONS: [ConditionKind, string][] = [
  ["status", "Status"],
  ["metric", "Metric over a window"],
  ["cert_expiry", "Certificate expiry"],
  ["absent", "No results (silent)"],
  ["anomaly", "Unusual hour (anomaly)"],
];
export const ANOMALY_METRICS = [
  ["response_time_ms", "response time (p95)"],
  ["error_rate", "error rate"],
] as const;
export const STATUSES = ["FAILED", "DEGRADED", "UNKNOWN"] as const;
export const AGGREGATES = ["avg", "p50", "p95", "p99", "max", "min", "last"] as const;
export const METRICS = ["response_time_ms", "error_rate", "cpu_usage", "memory_usage", "cert_days_left", "restarts", "open_fds", "threads", "failure_rate", "heartbeat_age_s", "dns_ms"] as const;

export interface RuleForm {
  rule_id: string;
  name: string;
  severity: string;
  enabled: boolean;
  kind: ConditionKind;
  statuses: string[];
  metric: string;
  aggregate: string;
  side: "above" | "below";
  threshold: string;
  window: string;
  days: string;
  intervals: string;
  anomaly_metrics: string[];
  min_score: string;
  services: string;
  labels: string;
  service_types: string[];
  for: string;
  resolve_after: string;
  channels: string[];
  /** One step per line: `10m: pager, mail`. */
  escalation: string;
  repeat: string;
  flap_limit: string;
  flap_window: string;
}

/** `300000` → `5m`; `0` → `0s`. */
export function duration(ms: number): string {
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return ms === 0 ? "0s" : `${ms}ms`;
}

const list = (s: string) => s.split(",").map((x) => x.trim()).filter((x) => x !== "");

export function blankRule(): RuleForm {
  return {
    rule_id: "",
    name: "",
    severity: "warning",
    enabled: true,
    kind: "status",
    statuses: ["FAILED"],
    metric: "response_time_ms",
    aggregate: "p95",
    side: "above",
    threshold: "",
    window: "5m",
    days: "14",
    intervals: "3",
    anomaly_metrics: ["response_time_ms", "error_rate"],
    min_score: "0",
    services: "",
    labels: "",
    service_types: [],
    for: "1m",
    resolve_after: "",
    channels: [],
    escalation: "",
    repeat: "",
    flap_limit: "6",
    flap_window: "10m",
  };
}

export function fromRule(r: Rule): RuleForm {
  const f: RuleForm = {
    ...blankRule(),
    rule_id: r.rule_id,
    name: r.name,
    severity: r.severity,
    enabled: r.enabled,
    kind: r.condition.kind,
    services: r.scope.services?.join(", ") ?? "",
    labels: Object.entries(r.scope.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(", "),
    service_types: r.scope.service_types ?? [],
    for: duration(r.for_ms),
    resolve_after: r.resolve_after_ms ? duration(r.resolve_after_ms) : "",
    channels: r.channels,
    escalation: (r.escalation ?? []).map((s) => `${duration(s.after_ms)}: ${s.channels.join(", ")}`).join("\n"),
    repeat: r.repeat_ms ? duration(r.repeat_ms) : "",
    flap_limit: String(r.flap_limit ?? 6),
    flap_window: duration(r.flap_window_ms ?? 600_000),
  };
  const c = r.condition;
  if (c.kind === "status") f.statuses = c.statuses;
  if (c.kind === "metric") {
    Object.assign(f, { metric: c.metric, aggregate: c.aggregate, side: c.below ? "below" : "above", threshold: String(c.threshold), window: duration(c.window_ms) });
  }
  if (c.kind === "cert_expiry") f.days = String(c.days);
  if (c.kind === "absent") f.intervals = String(c.intervals);
  if (c.kind === "anomaly") Object.assign(f, { anomaly_metrics: c.metrics, min_score: String(c.min_score) });
  return f;
}

/** A number as typed, or the text itself so the API names the field. */
const num = (s: string): number | string => (s.trim() !== "" && Number.isFinite(Number(s)) ? Number(s) : s);

export function toBody(f: RuleForm): Record<string, unknown> {
  const condition: Record<string, unknown> = { kind: f.kind };
  if (f.kind === "status") condition.statuses = f.statuses;
  if (f.kind === "metric") {
    condition.metric = f.metric;
    if (f.metric !== "error_rate") condition.aggregate = f.aggregate;
    condition[f.side] = num(f.threshold);
    condition.window = f.window;
  }
  if (f.kind === "cert_expiry") condition.days = num(f.days);
  if (f.kind === "absent") condition.intervals = num(f.intervals);
  if (f.kind === "anomaly") {
    condition.metrics = f.anomaly_metrics;
    condition.min_score = num(f.min_score);
  }
  const labels = Object.fromEntries(
    list(f.labels).map((pair) => {
      const at = pair.indexOf("=");
      return at < 0 ? [pair, ""] : [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
    }),
  );
  const body: Record<string, unknown> = {
    rule_id: f.rule_id,
    name: f.name || f.rule_id,
    severity: f.severity,
    enabled: f.enabled,
    condition,
    scope: { services: list(f.services), service_types: f.service_types, labels },
    for: f.for || "0s",
    channels: f.channels,
    flap_limit: num(f.flap_limit),
    flap_window: f.flap_window,
  };
  if (f.resolve_after) body.resolve_after = f.resolve_after;
  const steps = f.escalation.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  if (steps.length > 0) {
    body.escalation = steps.map((line) => {
      const at = line.indexOf(":");
      return at < 0 ? { after: line, channels: [] } : { after: line.slice(0, at).trim(), channels: list(line.slice(at + 1)) };
    });
  }
  if (f.repeat) body.repeat = f.repeat;
  return body;
}

/** The level a service's own `metric_config` sets for `metric`, offered as the rule's threshold. */
export function offeredThreshold(metricConfig: unknown, metric: string): string | undefined {
  if (typeof metricConfig !== "object" || metricConfig === null) return undefined;
  const level = (metricConfig as Record<string, unknown>)[metric];
  if (typeof level !== "object" || level === null) return undefined;
  const { degraded, failed } = level as { degraded?: number; failed?: number };
  const v = degraded ?? failed;
  return v === undefined ? undefined : String(v);
}
