// The admin feature's API: services, relations, bulk operations, and the
// React Query keys they are cached under (everything under `adminKeys.all`).
import { request } from "../../api/client";
import type { components } from "../../api/schema";

type Schemas = components["schemas"];

export type ServiceDef = Schemas["ServiceDef"];
export type RelationSummary = Schemas["RelationSummary"];
export type ServiceResponse = Schemas["ServiceResponse"];
/** One page of `GET /api/admin/services`. */
export type ServicePage = Schemas["Page_ServiceResponse"];
export type RelationResponse = Schemas["RelationResponse"];
export type BulkResult = Schemas["BulkOperationResponse"];

export const SERVICE_TYPES = ["api_endpoint", "python_process", "database", "temporal_workflow", "kubernetes_pod", "application"] as const;
export const RELATION_TYPES = ["dependency", "communication", "data-flow"] as const;

const send = <T>(method: string, path: string, body?: unknown) => request<T>(method, path, body);

export interface ListQuery {
  page: number;
  per_page: number;
  search: string;
  service_type: string;
  sort: string;
}

export const admin = {
  services: (q: ListQuery) => {
    const p = new URLSearchParams({ page: String(q.page), per_page: String(q.per_page), sort: q.sort });
    if (q.search) p.set("search", q.search);
    if (q.service_type) p.set("service_type", q.service_type);
    return send<ServicePage>("GET", `/api/admin/services?${p}`);
  },
  create: (s: Partial<ServiceDef>) => send<ServiceResponse>("POST", "/api/admin/services", s),
  update: (id: string, s: Partial<ServiceDef>) =>
    send<ServiceResponse>("PUT", `/api/admin/services/${encodeURIComponent(id)}`, s),
  remove: (id: string, cascade: boolean) =>
    send<unknown>("DELETE", `/api/admin/services/${encodeURIComponent(id)}${cascade ? "?cascade=true" : ""}`),
  bulk: (action: "enable" | "disable" | "delete", ids: string[]) =>
    send<BulkResult>("POST", "/api/admin/services/bulk", {
      action,
      service_ids: ids,
    }),
  relations: (serviceId?: string) =>
    send<RelationResponse[]>("GET", `/api/admin/relations${serviceId ? `?service_id=${encodeURIComponent(serviceId)}` : ""}`),
  createRelation: (r: { source_service_id: string; target_service_id: string; relation_type: string }) =>
    send<RelationResponse>("POST", "/api/admin/relations", r),
  validateRelation: (r: { source_service_id: string; target_service_id: string; relation_type: string }) =>
    send<{ valid: boolean }>("POST", "/api/admin/relations/validate", r),
  updateRelation: (id: string, r: { relation_type?: string; enabled?: boolean }) =>
    send<RelationResponse>("PUT", `/api/admin/relations/${encodeURIComponent(id)}`, r),
  removeRelation: (id: string) => send<unknown>("DELETE", `/api/admin/relations/${encodeURIComponent(id)}`),
};

/** Query keys: invalidating `all` refreshes every admin view. */
export const adminKeys = {
  all: ["admin"] as const,
  services: (q: ListQuery) => [...adminKeys.all, "services", q] as const,
  relations: (serviceId?: string) => [...adminKeys.all, "relations", ...(serviceId ? [serviceId] : [])] as const,
  validate: (draft: unknown) => [...adminKeys.all, "validate", draft] as const,
};
