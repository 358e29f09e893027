// Live statuses: the list every page shares, one service's status, and
// the React Query key the list is cached under (the SSE stream updates it).
import { api } from "../../api/client";
import type { LatestStatus } from "../../api/types";

export const STATUS_KEY = ["status"] as const;

export const statuses = {
  list: (signal?: AbortSignal) => api.get<LatestStatus[]>("/api/status", signal),
  one: (id: string, signal?: AbortSignal) => api.get<LatestStatus>(`/api/status/${encodeURIComponent(id)}`, signal),
};
