// Services: paged, searchable, filterable, sortable; bulk enable/disable/
// delete; create (Ctrl+N), edit and delete through dialogs; enabling and
// disabling one service is optimistic and rolled back on error.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { type ListQuery, SERVICE_TYPES, type ServicePage, type ServiceResponse, admin, adminKeys } from "./api";
import { StatusBadge } from "../../status/StatusBadge";
import { STATUSES } from "../../status/statuses";
import { button, input } from "../../ui/Dialog";
import { useToast } from "../../ui/toast";
import { CatalogFilePanel } from "./CatalogFilePanel";
import { DeleteServiceDialog } from "./DeleteServiceDialog";
import { ServiceDialog } from "./ServiceDialog";

const code = (name: string) => STATUSES.find((s) => s.name === name)?.code ?? 5;

export default function AdminServicesPage() {
  const toast = useToast();
  const client = useQueryClient();
  const [q, setQ] = useState<ListQuery>({ page: 1, per_page: 50, search: "", service_type: "", sort: "service_id" });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<ServiceResponse | null>(null);
  const [deleting, setDeleting] = useState<ServiceResponse | null>(null);
  const key = adminKeys.services(q);
  const list = useQuery({ queryKey: key, queryFn: () => admin.services(q), placeholderData: keepPreviousData });

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "n") {
        e.preventDefault();
        setCreating(true);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const toggle = useMutation({
    mutationFn: (s: ServiceResponse) => admin.update(s.service_id, { enabled: !s.enabled }),
    onMutate: async (s) => {
      await client.cancelQueries({ queryKey: key });
      const before = client.getQueryData<ServicePage>(key);
      client.setQueryData<ServicePage>(key, (p) =>
        p && { ...p, items: p.items.map((x) => (x.service_id === s.service_id ? { ...x, enabled: !s.enabled } : x)) },
      );
      return { before };
    },
    onError: (e, _s, ctx) => {
      client.setQueryData(key, ctx?.before);
      toast("error", e.message);
    },
    onSettled: () => void client.invalidateQueries({ queryKey: adminKeys.all }),
  });
  const bulk = useMutation({
    mutationFn: (action: "enable" | "disable" | "delete") => admin.bulk(action, [...selected]),
    onSuccess: (r, action) => {
      toast(r.failed_count ? "error" : "success", `${action}: ${r.success_count} done${r.failed_count ? `, ${r.failed_count} failed: ${r.errors.map((e) => `${e.item_id}: ${e.error_message}`).join("; ")}` : ""}`);
      setSelected(new Set());
      void client.invalidateQueries({ queryKey: adminKeys.all });
    },
    onError: (e) => toast("error", e.message),
  });

  const page = list.data;
  const pages = page ? Math.max(1, Math.ceil(page.total / page.per_page)) : 1;
  const sortBy = (field: string) => setQ({ ...q, sort: q.sort === field ? `-${field}` : field, page: 1 });
  const th = (field: string, label: string) => (
    <th className="px-3 py-2">
      <button type="button" onClick={() => sortBy(field)} className="uppercase hover:underline">
        {label} {q.sort === field ? "▲" : q.sort === `-${field}` ? "▼" : ""}
      </button>
    </th>
  );

  return (
    <section className="space-y-3">
      <CatalogFilePanel />
      <div className="flex flex-wrap items-center gap-2">
        <input type="search" aria-label="Search services" placeholder="Search id or label" className={`${input} max-w-xs`} value={q.search} onChange={(e) => setQ({ ...q, search: e.target.value, page: 1 })} />
        <select aria-label="Filter by type" className={`${input} max-w-48`} value={q.service_type} onChange={(e) => setQ({ ...q, service_type: e.target.value, page: 1 })}>
          <option value="">All types</option>
          {SERVICE_TYPES.map((t) => <option key={t}>{t}</option>)}
        </select>
        <span className="flex-1" />
        {selected.size > 0 && (
          <span className="flex items-center gap-2 text-sm" aria-label="Bulk actions">
            {selected.size} selected
            <button type="button" className={button.secondary} onClick={() => bulk.mutate("enable")}>Enable</button>
            <button type="button" className={button.secondary} onClick={() => bulk.mutate("disable")}>Disable</button>
            <button type="button" className={button.danger} onClick={() => window.confirm(`Delete ${selected.size} services and their relations?`) && bulk.mutate("delete")}>Delete</button>
          </span>
        )}
        <button type="button" className={button.primary} onClick={() => setCreating(true)} title="Ctrl+N">
          New service
        </button>
      </div>
      <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm">
        {list.error ? (
          <p className="p-4 text-red-800" role="alert">Cannot load services: {list.error.message}</p>
        ) : !page ? (
          <p className="p-4 text-slate-600">Loading…</p>
        ) : (
          <table className="w-full text-left text-sm">
            <thead className="bg-slate-100 text-xs text-slate-700">
              <tr>
                <th className="px-3 py-2">
                  <input type="checkbox" aria-label="Select all" checked={page.items.length > 0 && page.items.every((s) => selected.has(s.service_id))} onChange={(e) => setSelected(e.target.checked ? new Set(page.items.map((s) => s.service_id)) : new Set())} />
                </th>
                {th("status", "Status")}
                {th("service_id", "Service")}
                {th("service_type", "Type")}
                <th className="px-3 py-2 uppercase">Relations</th>
                <th className="px-3 py-2 uppercase">Enabled</th>
                <th className="px-3 py-2" />
              </tr>
            </thead>
            <tbody>
              {page.items.map((s) => (
                <tr key={s.service_id} className="border-t border-slate-200" data-admin-service={s.service_id}>
                  <td className="px-3 py-2">
                    <input type="checkbox" aria-label={`Select ${s.service_id}`} checked={selected.has(s.service_id)} onChange={(e) => { const n = new Set(selected); if (e.target.checked) n.add(s.service_id); else n.delete(s.service_id); setSelected(n); }} />
                  </td>
                  <td className="px-3 py-2"><StatusBadge code={code(s.status)} /></td>
                  <td className="px-3 py-2">
                    <span className="font-medium">{s.service_id}</span>
                    <span className="block text-xs text-slate-600">{s.label}{s.managed_by ? ` · managed by ${s.managed_by}` : ""}</span>
                  </td>
                  <td className="px-3 py-2">{s.service_type}</td>
                  <td className="px-3 py-2">{s.relations.incoming.length} in / {s.relations.outgoing.length} out</td>
                  <td className="px-3 py-2">
                    <input type="checkbox" role="switch" aria-label={`${s.service_id} enabled`} checked={s.enabled} disabled={!!s.managed_by} onChange={() => toggle.mutate(s)} />
                  </td>
                  <td className="whitespace-nowrap px-3 py-2 text-right">
                    <button type="button" className={button.secondary} disabled={!!s.managed_by} onClick={() => setEditing(s)}>Edit</button>{" "}
                    <button type="button" className={button.secondary} disabled={!!s.managed_by} onClick={() => setDeleting(s)}>Delete</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <div className="flex items-center justify-between text-sm text-slate-700">
        <span>{page ? `${page.total} services` : ""}</span>
        <span className="flex items-center gap-2">
          <button type="button" className={button.secondary} disabled={q.page <= 1} onClick={() => setQ({ ...q, page: q.page - 1 })}>Previous</button>
          Page {q.page} of {pages}
          <button type="button" className={button.secondary} disabled={q.page >= pages} onClick={() => setQ({ ...q, page: q.page + 1 })}>Next</button>
        </span>
      </div>
      {creating && <ServiceDialog open onClose={() => setCreating(false)} />}
      {editing && <ServiceDialog open editing={editing} onClose={() => setEditing(null)} />}
      <DeleteServiceDialog service={deleting} onClose={() => setDeleting(null)} />
    </section>
  );
}
