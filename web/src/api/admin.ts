// The admin API: services, relations, bulk operations.
import { request } from "./client";

export interface ServiceDef {
  service_id: string;
  label: string;
  service_type: string;
  status_config: Record<string, unknown>;
  metric_config: unknown;
  enabled: boolean;
  labels: Record<string, string>;
  managed_by: string | null;
}

export interface RelationSummary {
  relation_id: string;
  service_id: string;
  relation_type: string;
  enabled: boolean;
}

export interface ServiceResponse extends ServiceDef {
  created_at: string;
  updated_at: string;
  status: string;
  relations: { incoming: RelationSummary[]; outgoing: RelationSummary[] };
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  per_page: number;
}

export interface RelationResponse {
  relation_id: string;
  source_service_id: string;
  target_service_id: string;
  relation_type: string;
  enabled: boolean;
  managed_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface BulkResult {
  success_count: number;
  failed_count: number;
  errors: { item_id: string; error_message: string }[];
}

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
    return send<Page<ServiceResponse>>("GET", `/api/admin/services?${p}`);
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
