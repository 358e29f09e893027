// Failure patterns (`GET /api/patterns`): failing results' messages mined
// into templates, fleet-wide or of one service.
import { api } from "../../api/client";
import type { components } from "../../api/schema";

type Schemas = components["schemas"];
export type Patterns = Schemas["Patterns"];
export type Pattern = Schemas["Pattern"];

export const patternKeys = {
  all: ["patterns"] as const,
  of: (serviceId: string, hours: number) => [...patternKeys.all, serviceId, hours] as const,
};

export function failurePatterns(serviceId: string, hours: number, signal?: AbortSignal) {
  const p = new URLSearchParams({ from: String(Date.now() - hours * 3600_000), limit: "10" });
  if (serviceId) p.set("service_id", serviceId);
  return api.get<Patterns>(`/api/patterns?${p}`, signal);
}

/** Words of a template worth searching for: its fixed words of 3+ characters, 8 at most. */
export function searchWords(template: string): string {
  return template
    .split(/\s+/)
    .filter((w) => w !== "<*>" && [...w].length >= 3)
    .slice(0, 8)
    .join(" ");
}
