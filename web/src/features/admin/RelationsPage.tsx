import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { RELATION_TYPES, type RelationResponse, admin, adminKeys } from "./api";
import { button, input } from "../../ui/Dialog";
import { useToast } from "../../ui/toast";
import { RelationDialog } from "./RelationDialog";

/** Every relation, filterable by service; add and delete. */
export default function RelationsPage() {
  const toast = useToast();
  const client = useQueryClient();
  const [filter, setFilter] = useState("");
  const [adding, setAdding] = useState(false);
  const list = useQuery({ queryKey: adminKeys.relations(), queryFn: () => admin.relations() });
  const remove = useMutation({
    mutationFn: admin.removeRelation,
    onSuccess: () => {
      toast("success", "Relation deleted");
      void client.invalidateQueries({ queryKey: adminKeys.all });
    },
    onError: (e) => toast("error", e.message),
  });
  // Type and enabled are edited in place; re-enabling a dependency is
  // checked for cycles like a new one.
  const update = useMutation({
    mutationFn: ({ r, change }: { r: RelationResponse; change: { relation_type?: string; enabled?: boolean } }) => admin.updateRelation(r.relation_id, change),
    onSuccess: () => void client.invalidateQueries({ queryKey: adminKeys.all }),
    onError: (e) => toast("error", e.message),
  });
  const shown = (list.data ?? []).filter((r) => filter === "" || r.source_service_id.includes(filter) || r.target_service_id.includes(filter));
  return (
    <section className="space-y-3">
      <div className="flex gap-2">
        <input type="search" className={`${input} max-w-xs`} placeholder="Filter by service" aria-label="Filter relations" value={filter} onChange={(e) => setFilter(e.target.value)} />
        <span className="flex-1" />
        <button type="button" className={button.primary} onClick={() => setAdding(true)}>New relation</button>
      </div>
      <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm">
        {list.error ? (
          <p className="p-4 text-red-800" role="alert">Cannot load relations: {list.error.message}</p>
        ) : !list.data ? (
          <p className="p-4 text-slate-600">Loading…</p>
        ) : shown.length === 0 ? (
          <p className="p-4 text-slate-600">No relation.</p>
        ) : (
          <table className="w-full text-left text-sm">
            <thead className="bg-slate-100 text-xs uppercase text-slate-700">
              <tr><th className="px-3 py-2">Source</th><th className="px-3 py-2">Type</th><th className="px-3 py-2">Target</th><th className="px-3 py-2">Enabled</th><th className="px-3 py-2" /></tr>
            </thead>
            <tbody>
              {shown.map((r) => (
                <tr key={r.relation_id} className="border-t border-slate-200" data-relation={`${r.source_service_id}>${r.target_service_id}`}>
                  <td className="px-3 py-2">{r.source_service_id}</td>
                  <td className="px-3 py-2">
                    <select aria-label={`Type of ${r.source_service_id} → ${r.target_service_id}`} className="rounded border border-slate-300 px-1 py-0.5" value={r.relation_type} disabled={!!r.managed_by} onChange={(e) => update.mutate({ r, change: { relation_type: e.target.value } })}>
                      {RELATION_TYPES.map((t) => <option key={t}>{t}</option>)}
                    </select>
                  </td>
                  <td className="px-3 py-2">{r.target_service_id}</td>
                  <td className="px-3 py-2">
                    <input type="checkbox" role="switch" aria-label={`${r.source_service_id} → ${r.target_service_id} enabled`} checked={r.enabled} disabled={!!r.managed_by} onChange={() => update.mutate({ r, change: { enabled: !r.enabled } })} />
                  </td>
                  <td className="px-3 py-2 text-right">
                    <button type="button" className={button.secondary} disabled={!!r.managed_by} onClick={() => window.confirm(`Delete ${r.relation_type} ${r.source_service_id} → ${r.target_service_id}?`) && remove.mutate(r.relation_id)}>Delete</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      {adding && <RelationDialog open onClose={() => setAdding(false)} />}
    </section>
  );
}
