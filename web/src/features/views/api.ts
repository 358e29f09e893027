// Saved views (`/api/views`): the caller's own, any one by its id.
import { api, request } from "../../api/client";
import type { components } from "../../api/schema";

type Schemas = components["schemas"];
export type SavedView = Schemas["SavedView"];
export type ViewDefinition = Schemas["ViewDefinition"];

export const viewKeys = {
  all: ["views"] as const,
  one: (id: string) => [...viewKeys.all, "one", id] as const,
};

export const views = {
  mine: (signal?: AbortSignal) => api.get<SavedView[]>("/api/views", signal),
  one: (id: string, signal?: AbortSignal) => api.get<SavedView>(`/api/views/${encodeURIComponent(id)}`, signal),
  create: (body: { name: string; definition: ViewDefinition; start: boolean }) => request<SavedView>("POST", "/api/views", body),
  update: (id: string, body: Partial<{ name: string; definition: ViewDefinition; start: boolean }>) =>
    request<SavedView>("PUT", `/api/views/${encodeURIComponent(id)}`, body),
  remove: (id: string) => request<SavedView>("DELETE", `/api/views/${encodeURIComponent(id)}`),
};

/** The link that opens a view. */
export const viewLink = (id: string) => `${window.location.origin}/?view=${encodeURIComponent(id)}`;
