// The audit log's API (admins read it; editors may undo a catalog change).
import { api, request } from "../../api/client";
import type { components } from "../../api/schema";

type Schemas = components["schemas"];
export type AuditRecord = Schemas["AuditRecord"];
export type AuditPage = Schemas["AuditPage"];
export type Reverted = Schemas["Reverted"];

export interface AuditFilter {
  actor: string;
  object: string;
  action: string;
  page: number;
}

export const PER_PAGE = 50;

export const auditKeys = {
  all: ["audit"] as const,
  page: (f: AuditFilter) => [...auditKeys.all, f] as const,
};

function params(f: Omit<AuditFilter, "page">): URLSearchParams {
  const p = new URLSearchParams();
  for (const k of ["actor", "object", "action"] as const) if (f[k]) p.set(k, f[k]);
  return p;
}

export const audit = {
  page: (f: AuditFilter, signal?: AbortSignal) => {
    const p = params(f);
    p.set("page", String(f.page));
    p.set("per_page", String(PER_PAGE));
    return api.get<AuditPage>(`/api/audit?${p}`, signal);
  },
  csvUrl: (f: Omit<AuditFilter, "page">) => `/api/audit.csv?${params(f)}`,
  revert: (id: number) => request<Reverted>("POST", `/api/audit/${id}/revert`),
};
