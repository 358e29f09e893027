// Evidence search (`GET /api/search`).
import { api } from "../../api/client";
import type { components } from "../../api/schema";

type Schemas = components["schemas"];
export type SearchResults = Schemas["SearchResults"];
export type SearchHit = Schemas["SearchHit"];
export type Part = Schemas["Part"];

export interface SearchFilter {
  q: string;
  /** Hours back from now. */
  hours: number;
  service_id: string;
}

export const searchKeys = {
  all: ["search"] as const,
  query: (f: SearchFilter) => [...searchKeys.all, f] as const,
};

export function searchResults(f: SearchFilter, signal?: AbortSignal) {
  const p = new URLSearchParams({ q: f.q, from: String(Date.now() - f.hours * 3600_000) });
  if (f.service_id) p.set("service_id", f.service_id);
  return api.get<SearchResults>(`/api/search?${p}`, signal);
}

/** Whether the words are worth asking for (each at least 3 characters). */
export function searchable(q: string): boolean {
  const words = q.trim().split(/\s+/).filter(Boolean);
  return words.length > 0 && words.length <= 8 && words.every((w) => [...w].length >= 3);
}
