import type { LatestStatus } from "../../api/types";

export interface Filter {
  text: string;
  type: string;
  status: number | null;
  /** `key=value`, or "" for any. */
  label: string;
}

export const NO_FILTER: Filter = { text: "", type: "", status: null, label: "" };

/** Every `key=value` label pair of the services, sorted. */
export function labelPairs(list: LatestStatus[]): string[] {
  const pairs = new Set<string>();
  for (const s of list) for (const [k, v] of Object.entries(s.labels ?? {})) pairs.add(`${k}=${v}`);
  return [...pairs].sort();
}

function hasLabel(s: LatestStatus, pair: string): boolean {
  const eq = pair.indexOf("=");
  return (s.labels ?? {})[pair.slice(0, eq)] === pair.slice(eq + 1);
}

/** Services matching the filter, worst status first, then by id. */
export function filterServices(list: LatestStatus[], f: Filter, severity: readonly number[]): LatestStatus[] {
  const text = f.text.trim().toLowerCase();
  const rank = new Map(severity.map((code, i) => [code, i]));
  return list
    .filter(
      (s) =>
        (f.status === null || s.status_code === f.status) &&
        (f.type === "" || s.service_type === f.type) &&
        (f.label === "" || hasLabel(s, f.label)) &&
        (text === "" ||
          s.service_id.toLowerCase().includes(text) ||
          (s.label ?? "").toLowerCase().includes(text) ||
          s.message.toLowerCase().includes(text) ||
          s.agent_id.toLowerCase().includes(text)),
    )
    .sort(
      (a, b) =>
        (rank.get(a.status_code) ?? 9) - (rank.get(b.status_code) ?? 9) || a.service_id.localeCompare(b.service_id),
    );
}

/** How many services have each status code. */
export function countByStatus(list: LatestStatus[]): number[] {
  const counts = [0, 0, 0, 0, 0, 0];
  for (const s of list) counts[s.status_code] = (counts[s.status_code] ?? 0) + 1;
  return counts;
}
