// A new relation: searchable source and target, its type, and a live check
// (the validate endpoint, as you type) that shows a dependency cycle before
// anything is saved.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { RELATION_TYPES, admin, adminKeys } from "./api";
import type { LatestStatus } from "../../api/types";
import { STATUS_KEY } from "../live/api";
import { Dialog, button, input } from "../../ui/Dialog";
import { useToast } from "../../ui/toast";

export function RelationDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const toast = useToast();
  const client = useQueryClient();
  const ids = (client.getQueryData<LatestStatus[]>(STATUS_KEY) ?? []).map((s) => s.service_id).sort();
  const [r, setR] = useState({ source_service_id: "", target_service_id: "", relation_type: "dependency" });
  const [debounced, setDebounced] = useState(r);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(r), 250);
    return () => clearTimeout(t);
  }, [r]);
  const complete = debounced.source_service_id !== "" && debounced.target_service_id !== "";
  const check = useQuery({
    queryKey: adminKeys.validate(debounced),
    queryFn: () => admin.validateRelation(debounced),
    enabled: open && complete,
    retry: false,
  });
  const save = useMutation({
    mutationFn: () => admin.createRelation(r),
    onSuccess: () => {
      toast("success", `Added ${r.relation_type} ${r.source_service_id} → ${r.target_service_id}`);
      void client.invalidateQueries({ queryKey: adminKeys.all });
      onClose();
    },
    onError: (e) => toast("error", e.message),
  });
  const same = debounced === r;
  const verdict = !complete || !same ? null : check.error ? { ok: false, text: check.error.message } : check.data?.valid ? { ok: true, text: "Valid: no cycle, both services exist." } : null;

  return (
    <Dialog title="New relation" open={open} onClose={onClose}>
      <form className="space-y-3" onSubmit={(e) => { e.preventDefault(); save.mutate(); }}>
        <datalist id="service-ids">
          {ids.map((id) => <option key={id} value={id} />)}
        </datalist>
        <label className="block text-sm font-medium">
          Source (depends on / sends to the target)
          <input className={`${input} mt-1`} list="service-ids" autoFocus value={r.source_service_id} onChange={(e) => setR({ ...r, source_service_id: e.target.value.trim() })} aria-label="Source service" />
        </label>
        <label className="block text-sm font-medium">
          Target
          <input className={`${input} mt-1`} list="service-ids" value={r.target_service_id} onChange={(e) => setR({ ...r, target_service_id: e.target.value.trim() })} aria-label="Target service" />
        </label>
        <label className="block text-sm font-medium">
          Type
          <select className={`${input} mt-1`} value={r.relation_type} onChange={(e) => setR({ ...r, relation_type: e.target.value })}>
            {RELATION_TYPES.map((t) => <option key={t}>{t}</option>)}
          </select>
        </label>
        <p className={`min-h-5 text-sm ${verdict?.ok ? "text-green-800" : "text-red-800"}`} role={verdict && !verdict.ok ? "alert" : "status"} data-testid="relation-check">
          {verdict?.text ?? (complete && check.isFetching ? "Checking…" : "")}
        </p>
        <div className="flex justify-end gap-2">
          <button type="button" className={button.secondary} onClick={onClose}>Cancel</button>
          <button type="submit" className={button.primary} disabled={!verdict?.ok || save.isPending}>Add relation</button>
        </div>
      </form>
    </Dialog>
  );
}
