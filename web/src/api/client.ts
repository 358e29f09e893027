// The one client of the collector's API: every feature's `api.ts` calls it.
import type { ApiErrorBody } from "./types";

/** Dispatched on `window` when a call finds the caller not signed in (401). */
export const UNAUTHENTICATED = "lightbulb:unauthenticated";
/** Dispatched on `window` (a CustomEvent with the entry's id) when a call's change was audited. */
export const AUDITED = "lightbulb:audited";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string | null,
  ) {
    super(message);
  }
}

/** Whether the statuses come from the service worker's cache (the
 *  collector unreachable): when they were saved, or null while live. */
let savedAt: string | null = null;
const offlineListeners = new Set<() => void>();
export const offline = {
  savedAt: () => savedAt,
  subscribe: (f: () => void) => {
    offlineListeners.add(f);
    return () => offlineListeners.delete(f);
  },
};

function noteOffline(path: string, r: Response) {
  const saved = r.headers.get("x-lightbulb-saved-at");
  if (saved === null && path !== "/api/status") return;
  if (saved === savedAt) return;
  savedAt = saved;
  for (const f of offlineListeners) f();
}

/** One API call: JSON in and out; a 4xx/5xx becomes an ApiError with the field at fault. */
export async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(path, { method, signal, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401) window.dispatchEvent(new Event(UNAUTHENTICATED));
  noteOffline(path, r);
  const audited = r.headers.get("lightbulb-audit-id");
  if (r.ok && audited) window.dispatchEvent(new CustomEvent(AUDITED, { detail: Number(audited) }));
  if (!r.ok) {
    const err = (await r.json().catch(() => null)) as ApiErrorBody | null;
    throw new ApiError(r.status, err?.error.message ?? `${path}: HTTP ${r.status}`, err?.error.field);
  }
  return r.status === 204 ? (undefined as T) : ((await r.json()) as T);
}

const getJson = <T>(path: string, signal?: AbortSignal) => request<T>("GET", path, undefined, signal);

export const api = {
  get: getJson,
};
