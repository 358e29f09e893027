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

export type { Channel, Rule } from "./ruleForm";

export const configKeys = {
  rules: ["alerts", "rules"] as const,
  channels: ["alerts", "channels"] as const,
};

const one = (kind: string, id: string) => `/api/alerts/${kind}/${encodeURIComponent(id)}`;

/** Rules and channels: listed, created (POST), replaced (PUT), deleted; a channel tested. */
export const config = {
  rules: (signal?: AbortSignal) => api.get<Schemas["Rule"][]>("/api/alerts/rules", signal),
  channels: (signal?: AbortSignal) => api.get<Schemas["Channel"][]>("/api/alerts/channels", signal),
  saveRule: (body: Record<string, unknown>, existing: boolean) =>
    existing ? request<Schemas["Rule"]>("PUT", one("rules", String(body.rule_id)), body) : request<Schemas["Rule"]>("POST", "/api/alerts/rules", body),
  deleteRule: (id: string) => request<unknown>("DELETE", one("rules", id)),
  saveChannel: (body: Record<string, unknown>, existing: boolean) =>
    existing
      ? request<Schemas["Channel"]>("PUT", one("channels", String(body.channel_id)), body)
      : request<Schemas["Channel"]>("POST", "/api/alerts/channels", body),
  deleteChannel: (id: string) => request<unknown>("DELETE", one("channels", id)),
  testChannel: (id: string) => request<Schemas["TestAnswer"]>("POST", `${one("channels", id)}/test`),
};
