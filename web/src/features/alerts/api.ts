// Alerts: the list, and acknowledging, taking back and resolving them (also
// through a notification's signed one-click link); the outbox's notifications.
import { api, request } from "../../api/client";
import type { components } from "../../api/schema";

type Schemas = components["schemas"];
export type Alert = Schemas["Alert"];
export type Handling = Schemas["Handling"];
export type Notification = Schemas["Notification"];
export type AlertStateName = Alert["state"];
export type SilenceView = Schemas["SilenceView"];

export const alertKeys = {
  all: ["alerts"] as const,
  list: (state: string) => [...alertKeys.all, "list", state] as const,
  notifications: ["alerts", "notifications"] as const,
  silences: ["alerts", "silences"] as const,
};

const path = (id: string, action: string) => `/api/alerts/${encodeURIComponent(id)}/${action}`;

export const alerts = {
  list: (state: string, signal?: AbortSignal) =>
    api.get<Alert[]>(state ? `/api/alerts?state=${encodeURIComponent(state)}` : "/api/alerts", signal),
  notifications: (signal?: AbortSignal) => api.get<Notification[]>("/api/alerts/notifications", signal),
  acknowledge: (id: string) => request<Handling>("POST", path(id, "acknowledge")),
  unacknowledge: (id: string) => request<Handling>("POST", path(id, "unacknowledge")),
  resolve: (id: string) => request<Handling>("POST", path(id, "resolve")),
  silences: (signal?: AbortSignal) => api.get<SilenceView[]>("/api/alerts/silences", signal),
  silence: (service: string, duration: string, comment: string, maintenance: boolean) =>
    request<SilenceView>("POST", "/api/alerts/silences", { matchers: { services: [service] }, duration, comment, maintenance }),
  acknowledgeByLink: (id: string, expires: number, signature: string) =>
    request<Handling>("POST", path(id, "acknowledge-link"), { expires, signature }),
};
