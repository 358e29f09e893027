// The dashboard's saved views: open one of yours, save what is shown as a
// new one (filters, the services shown, and which service to chart and
// focus the map on), share its link, make it your start page, delete it.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Dialog, Field, button, input } from "../../ui/Dialog";
import { useToast } from "../../ui/toast";
import { type SavedView, type ViewDefinition, viewKeys, viewLink, views } from "./api";

const RANGES = ["1h", "24h", "7d", "30d", "90d"];

export function ViewsBar({ active, open, current, shownIds }: { active: SavedView | undefined; open: (id: string | null) => void; current: ViewDefinition; shownIds: string[] }) {
  const toast = useToast();
  const client = useQueryClient();
  const mine = useQuery({ queryKey: viewKeys.all, queryFn: ({ signal }) => views.mine(signal) });
  const [saving, setSaving] = useState(false);
  const done = (message: string) => {
    toast("success", message);
    void client.invalidateQueries({ queryKey: viewKeys.all });
  };
  const startPage = useMutation({
    mutationFn: (v: SavedView) => views.update(v.view_id, { start: !v.start }),
    onSuccess: (v) => done(v.start ? `“${v.name}” is your start page` : `“${v.name}” is no longer your start page`),
    onError: (e) => toast("error", e.message),
  });
  const remove = useMutation({
    mutationFn: (v: SavedView) => views.remove(v.view_id),
    onSuccess: (v) => {
      done(`Deleted view “${v.name}”`);
      open(null);
    },
    onError: (e) => toast("error", e.message),
  });
  const copy = async (v: SavedView) => {
    await navigator.clipboard?.writeText(viewLink(v.view_id)).catch(() => {});
    toast("success", `Link copied: ${viewLink(v.view_id)}`);
  };
  const own = active && mine.data?.some((v) => v.view_id === active.view_id);
  return (
    <div className="flex flex-wrap items-center gap-2 text-sm" data-testid="views-bar">
      <label className="flex items-center gap-1 text-slate-700">
        View
        <select className="rounded-md border border-slate-300 bg-white px-2 py-1 text-slate-800" value={active?.view_id ?? ""} onChange={(e) => open(e.target.value || null)}>
          <option value="">Everything</option>
          {active && !own && <option value={active.view_id}>{active.name} (shared by {active.owner})</option>}
          {mine.data?.map((v) => (
            <option key={v.view_id} value={v.view_id}>
              {v.name}
              {v.start ? " (start page)" : ""}
            </option>
          ))}
        </select>
      </label>
      <button type="button" className={button.secondary} onClick={() => setSaving(true)}>
        Save view…
      </button>
      {active && (
        <>
          <button type="button" className={button.secondary} onClick={() => void copy(active)}>
            Copy link
          </button>
          {own && (
            <>
              <button type="button" className={button.secondary} aria-pressed={active.start} onClick={() => startPage.mutate(active)}>
                {active.start ? "Start page ✓" : "Set as start page"}
              </button>
              <button type="button" className={button.secondary} onClick={() => window.confirm(`Delete view “${active.name}”?`) && remove.mutate(active)}>
                Delete view
              </button>
            </>
          )}
        </>
      )}
      {saving && <SaveDialog current={current} shownIds={shownIds} onClose={() => setSaving(false)} onSaved={(v) => { done(`Saved view “${v.name}”`); open(v.view_id); }} />}
    </div>
  );
}

function SaveDialog({ current, shownIds, onClose, onSaved }: { current: ViewDefinition; shownIds: string[]; onClose: () => void; onSaved: (v: SavedView) => void }) {
  const [name, setName] = useState("");
  const [only, setOnly] = useState(false);
  const [chart, setChart] = useState(current.charts?.[0] ?? "");
  const [range, setRange] = useState(current.range ?? "24h");
  const [start, setStart] = useState(false);
  const [error, setError] = useState<{ field?: string | null; message: string } | null>(null);
  const save = useMutation({
    mutationFn: () =>
      views.create({
        name,
        start,
        definition: { ...current, services: only ? shownIds : current.services ?? [], charts: chart ? [chart] : [], map_focus: chart || null, range },
      }),
    onSuccess: (v) => {
      onSaved(v);
      onClose();
    },
    onError: (e: Error & { field?: string | null }) => setError({ field: e.field, message: e.message }),
  });
  return (
    <Dialog title="Save view" open onClose={onClose}>
      <form className="space-y-3" onSubmit={(e) => { e.preventDefault(); save.mutate(); }}>
        <Field label="Name" error={error?.field === "name" ? error.message : undefined}>
          <input className={input} value={name} onChange={(e) => setName(e.target.value)} placeholder="On call: payments" />
        </Field>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={only} onChange={(e) => setOnly(e.target.checked)} />
          Only the {shownIds.length} services shown now (otherwise the filters decide)
        </label>
        <Field label="Chart and focus the map on (a service id; optional)" error={error?.field?.startsWith("definition") ? error.message : undefined}>
          <input className={input} value={chart} onChange={(e) => setChart(e.target.value.trim())} list="view-services" />
        </Field>
        <datalist id="view-services">
          {shownIds.map((id) => <option key={id} value={id} />)}
        </datalist>
        <Field label="Chart range">
          <select className={input} value={range} onChange={(e) => setRange(e.target.value as typeof range)}>
            {RANGES.map((r) => <option key={r}>{r}</option>)}
          </select>
        </Field>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={start} onChange={(e) => setStart(e.target.checked)} />
          Make it my start page
        </label>
        {error && !error.field && <p className="text-sm text-red-800" role="alert">{error.message}</p>}
        <div className="flex justify-end gap-2">
          <button type="button" className={button.secondary} onClick={onClose}>Cancel</button>
          <button type="submit" className={button.primary} disabled={save.isPending}>Save</button>
        </div>
      </form>
    </Dialog>
  );
}
