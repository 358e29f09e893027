// Web Push (`/api/push`): the collector's key, and the caller's browsers
// subscribed to pushes.
import { api, request } from "../../api/client";
import type { components } from "../../api/schema";

type Schemas = components["schemas"];
export type MySubscription = Schemas["MySubscription"];
export type PushOutcome = Schemas["Outcome"];

export const pushKeys = { mine: ["push", "subscriptions"] as const };

export const push = {
  key: () => api.get<Schemas["PushKey"]>("/api/push/key"),
  mine: (signal?: AbortSignal) => api.get<MySubscription[]>("/api/push/subscriptions", signal),
  subscribe: (sub: PushSubscriptionJSON, services: string[], label: string) =>
    request<Schemas["PushSubscription"]>("PUT", "/api/push/subscriptions", { ...sub, services, label }),
  remove: (id: string) => request<void>("DELETE", `/api/push/subscriptions/${encodeURIComponent(id)}`),
  test: (id: string) => request<PushOutcome>("POST", `/api/push/subscriptions/${encodeURIComponent(id)}/test`),
};

/** The VAPID key as `applicationServerKey` takes it. */
export function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const b64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/** This browser's push subscription, or why it cannot have one. */
export async function browserSubscription(): Promise<PushSubscription | null | string> {
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    return "This browser cannot receive push notifications.";
  }
  const registration = await navigator.serviceWorker.getRegistration();
  if (!registration) return "Push notifications need the dashboard's service worker, which is not running (it needs HTTPS or localhost).";
  return registration.pushManager.getSubscription();
}

/** Asks for permission and subscribes this browser with the collector's key. */
export async function subscribeBrowser(): Promise<PushSubscription> {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new Error("Notifications are blocked for this site; allow them in the browser's site settings.");
  const { public_key } = await push.key();
  const registration = await navigator.serviceWorker.ready;
  return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(public_key) });
}
