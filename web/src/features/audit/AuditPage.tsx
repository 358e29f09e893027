// The audit log (admins): who changed what, when and from where, filtered
// by actor, object and action, paged, with CSV export; a catalog change
// can be undone from here (a revert is itself an entry, so undoing it redoes).
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { button, input } from "../../ui/Dialog";
import { useToast } from "../../ui/toast";
import { type AuditFilter, type AuditRecord, PER_PAGE, audit, auditKeys } from "./api";

const undoable = (r: AuditRecord) => r.changes.length > 0 && r.changes.every((c) => c.kind === "service" || c.kind === "relation");

export default function AuditPage() {
  const toast = useToast();
  const client = useQueryClient();
  const [filter, setFilter] = useState<AuditFilter>({ actor: "", object: "", action: "", page: 1 });
  const list = useQuery({
    queryKey: auditKeys.page(filter),
    queryFn: ({ signal }) => audit.page(filter, signal),
    placeholderData: keepPreviousData,
  });
  const revert = useMutation({
    mutationFn: (r: AuditRecord) => audit.revert(r.id),
    onSuccess: (done, r) => {
      toast("success", `Reverted entry ${r.id} (${r.action})`);
      void client.invalidateQueries();
      return done;
    },
    onError: (e) => toast("error", e.message),
  });
  const set = (k: keyof AuditFilter) => (e: React.ChangeEvent<HTMLInputElement>) => setFilter({ ...filter, [k]: e.target.value, page: 1 });
  const page = list.data;
  const pages = page ? Math.max(1, Math.ceil(page.total / PER_PAGE)) : 1;
  return (
    <section className="flex flex-col gap-3">
      <div className="flex flex-wrap items-center gap-2">
        <input aria-label="Actor" placeholder="Actor (user:alice)" className={`${input} max-w-48`} value={filter.actor} onChange={set("actor")} />
        <input aria-label="Object" placeholder="Service or relation id" className={`${input} max-w-48`} value={filter.object} onChange={set("object")} />
        <input aria-label="Action" placeholder="Action (delete service)" className={`${input} max-w-48`} value={filter.action} onChange={set("action")} />
        <span className="flex-1" />
        <a className={button.secondary} href={audit.csvUrl(filter)} download="audit.csv">
          Export CSV
        </a>
      </div>
      <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm">
        {list.error ? (
          <p className="p-4 text-red-800" role="alert">Cannot load the audit log: {list.error.message}</p>
        ) : !page ? (
          <p className="p-4 text-slate-600">Loading…</p>
        ) : (
          <table className="w-full text-left text-sm">
            <thead className="bg-slate-100 text-xs uppercase text-slate-700">
              <tr>
                <th className="px-3 py-2">When</th>
                <th className="px-3 py-2">Who</th>
                <th className="px-3 py-2">Action</th>
                <th className="px-3 py-2">Objects</th>
                <th className="px-3 py-2" />
              </tr>
            </thead>
            <tbody>
              {page.records.map((r) => (
                <tr key={r.id} className="border-t border-slate-200 align-top" data-audit={r.id}>
                  <td className="whitespace-nowrap px-3 py-2">{new Date(r.at_ms).toLocaleString()}</td>
                  <td className="px-3 py-2">
                    {r.actor}
                    {r.ip && <span className="block text-xs text-slate-600">{r.ip}</span>}
                  </td>
                  <td className="px-3 py-2">{r.action}</td>
                  <td className="px-3 py-2">
                    {r.changes.map((c) => (
                      <span key={`${c.kind}:${c.id}`} className="block">
                        {c.kind} {c.id}
                        <span className="text-xs text-slate-600"> {c.before == null ? "created" : c.after == null ? "deleted" : "changed"}</span>
                      </span>
                    ))}
                  </td>
                  <td className="px-3 py-2 text-right">
                    {undoable(r) && (
                      <button type="button" className={button.secondary} disabled={revert.isPending} onClick={() => revert.mutate(r)}>
                        Undo
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <div className="flex items-center justify-between text-sm">
        <span>{page?.total ?? 0} entries</span>
        <span className="flex items-center gap-2">
          <button type="button" className={button.secondary} disabled={filter.page <= 1} onClick={() => setFilter({ ...filter, page: filter.page - 1 })}>Previous</button>
          Page {filter.page} of {pages}
          <button type="button" className={button.secondary} disabled={filter.page >= pages} onClick={() => setFilter({ ...filter, page: filter.page + 1 })}>Next</button>
        </span>
      </div>
    </section>
  );
}
