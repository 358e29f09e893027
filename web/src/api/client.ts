// The one typed client of the collector's API.
import type { Agent, ApiErrorBody, LatestStatus } from "./types";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string | null,
  ) {
    super(message);
  }
}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const r = await fetch(path, { signal, headers: { Accept: "application/json" } });
  if (!r.ok) {
    const body = (await r.json().catch(() => null)) as ApiErrorBody | null;
    throw new ApiError(r.status, body?.error.message ?? `${path}: HTTP ${r.status}`, body?.error.field);
  }
  return (await r.json()) as T;
}

export const api = {
  get: getJson,
  status: (signal?: AbortSignal) => getJson<LatestStatus[]>("/api/status", signal),
  serviceStatus: (id: string, signal?: AbortSignal) =>
    getJson<LatestStatus>(`/api/status/${encodeURIComponent(id)}`, signal),
  agents: (signal?: AbortSignal) => getJson<Agent[]>("/api/agents", signal),
};
