// AI analyses of a service's failures (`/api/insights/{service_id}`).
import { api, request } from "../../api/client";
import type { components } from "../../api/schema";

type Schemas = components["schemas"];
export type Insights = Schemas["Insights"];
export type Analysis = Schemas["Analysis"];

export const insightKeys = {
  of: (serviceId: string) => ["insights", serviceId] as const,
};

const path = (id: string) => `/api/insights/${encodeURIComponent(id)}`;

export const insights = {
  list: (id: string, signal?: AbortSignal) => api.get<Insights>(path(id), signal),
  ask: (id: string) => request<Analysis>("POST", path(id)),
};

/** The context as sent, indented for reading (as sent when it is not JSON). */
export function readable(context: string): string {
  try {
    return JSON.stringify(JSON.parse(context), null, 2);
  } catch {
    return context;
  }
}
