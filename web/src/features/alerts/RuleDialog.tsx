// A rule's editor, like the service dialog: what it watches (status, a
// metric over a window, certificate expiry, silence), which services, how
// long before it fires, whom it notifies and how it escalates. A metric
// rule for one service starts from that service's own threshold. The API
// judges the rule; a refusal is shown at the field it names.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { ApiError } from "../../api/client";
import { Dialog, Field, button, input } from "../../ui/Dialog";
import { useToast } from "../../ui/toast";
import { request } from "../../api/client";
import { type Channel, type Rule, configKeys, config } from "./api";
import { AGGREGATES, ANOMALY_METRICS, CONDITIONS, METRICS, type RuleForm, STATUSES, blankRule, fromRule, offeredThreshold, toBody } from "./ruleForm";

export function RuleDialog({ rule, channels, open, onClose }: { rule?: Rule; channels: Channel[]; open: boolean; onClose: () => void }) {
  const [f, setF] = useState<RuleForm>(() => (rule ? fromRule(rule) : blankRule()));
  const [error, setError] = useState<ApiError | null>(null);
  const toast = useToast();
  const client = useQueryClient();
  const set = (patch: Partial<RuleForm>) => setF((old) => ({ ...old, ...patch }));
  const only = f.services.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const single = only.length === 1 ? only[0] : "";
  const own = useQuery({
    queryKey: ["admin", "service", single],
    queryFn: () => request<{ metric_config?: unknown }>("GET", `/api/admin/services/${encodeURIComponent(single)}`),
    enabled: open && single !== "" && f.kind === "metric",
    retry: false,
  });
  const offered = offeredThreshold(own.data?.metric_config, f.metric);
  useEffect(() => {
    if (offered !== undefined && f.threshold === "") set({ threshold: offered });
  }, [offered, f.threshold]);
  const save = useMutation({
    mutationFn: () => config.saveRule(toBody(f), rule !== undefined),
    onSuccess: (r) => {
      toast("success", `${rule ? "Saved" : "Created"} rule ${r.rule_id}`);
      void client.invalidateQueries({ queryKey: configKeys.rules });
      onClose();
    },
    onError: (e) => {
      setError(e instanceof ApiError ? e : new ApiError(0, e.message));
      toast("error", e.message);
    },
  });
  const at = (...prefixes: string[]) => {
    const field = error?.field;
    return field && prefixes.some((p) => field === p || field.startsWith(`${p}.`) || field.startsWith(`${p}[`)) ? `${field}: ${error.message}` : undefined;
  };
  const unplaced = error && !error.field ? error.message : undefined;
  return (
    <Dialog title={rule ? `Rule ${rule.rule_id}` : "New rule"} open={open} onClose={onClose}>
      <form
        className="max-h-[75vh] space-y-3 overflow-y-auto pr-1"
        onSubmit={(e) => {
          e.preventDefault();
          setError(null);
          save.mutate();
        }}
      >
        <div className="grid grid-cols-2 gap-3">
          <Field label="Rule id" error={at("rule_id")}>
            <input className={input} value={f.rule_id} disabled={rule !== undefined} autoFocus onChange={(e) => set({ rule_id: e.target.value.trim() })} />
          </Field>
          <Field label="Name" error={at("name")}>
            <input className={input} value={f.name} onChange={(e) => set({ name: e.target.value })} />
          </Field>
          <Field label="Condition" error={at("condition.kind")}>
            <select className={input} value={f.kind} onChange={(e) => set({ kind: e.target.value as RuleForm["kind"] })}>
              {CONDITIONS.map(([k, label]) => <option key={k} value={k}>{label}</option>)}
            </select>
          </Field>
          <Field label="Severity" error={at("severity")}>
            <select className={input} value={f.severity} onChange={(e) => set({ severity: e.target.value })}>
              {["critical", "warning", "info"].map((s) => <option key={s}>{s}</option>)}
            </select>
          </Field>
        </div>
        <Condition f={f} set={set} error={at("condition")} offered={offered} single={single} />
        <div className="grid grid-cols-2 gap-3">
          <Field label="Services (ids, comma-separated; empty: all)" error={at("scope.services")}>
            <input className={input} value={f.services} onChange={(e) => set({ services: e.target.value })} />
          </Field>
          <Field label="Labels (key=value, comma-separated)" error={at("scope.labels", "scope")}>
            <input className={input} value={f.labels} onChange={(e) => set({ labels: e.target.value })} />
          </Field>
          <Field label="Fires after holding for" error={at("for")}>
            <input className={input} value={f.for} onChange={(e) => set({ for: e.target.value })} />
          </Field>
          <Field label="Resolves after clear for" error={at("resolve_after")}>
            <input className={input} value={f.resolve_after} placeholder="0s" onChange={(e) => set({ resolve_after: e.target.value })} />
          </Field>
        </div>
        <fieldset>
          <legend className="text-sm font-medium text-slate-800">Notify</legend>
          {channels.length === 0 && <p className="text-sm text-slate-700">No channels yet: add one first.</p>}
          <div className="flex flex-wrap gap-3">
            {channels.map((c) => (
              <label key={c.channel_id} className="flex items-center gap-1 text-sm">
                <input
                  type="checkbox"
                  checked={f.channels.includes(c.channel_id)}
                  onChange={(e) => set({ channels: e.target.checked ? [...f.channels, c.channel_id] : f.channels.filter((x) => x !== c.channel_id) })}
                />
                {c.name || c.channel_id}
              </label>
            ))}
          </div>
          {at("channels") && <p className="mt-1 text-xs text-red-800" role="alert">{at("channels")}</p>}
        </fieldset>
        <Field label="Escalation while not acknowledged (one step per line: 10m: pager, mail)" error={at("escalation")}>
          <textarea className={`${input} font-mono`} rows={2} value={f.escalation} onChange={(e) => set({ escalation: e.target.value })} />
        </Field>
        <div className="grid grid-cols-3 gap-3">
          <Field label="Repeat last step every" error={at("repeat")}>
            <input className={input} value={f.repeat} onChange={(e) => set({ repeat: e.target.value })} />
          </Field>
          <Field label="Flap limit" error={at("flap_limit")}>
            <input className={input} inputMode="numeric" value={f.flap_limit} onChange={(e) => set({ flap_limit: e.target.value })} />
          </Field>
          <Field label="Flap window" error={at("flap_window")}>
            <input className={input} value={f.flap_window} onChange={(e) => set({ flap_window: e.target.value })} />
          </Field>
        </div>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={f.enabled} onChange={(e) => set({ enabled: e.target.checked })} /> Enabled
        </label>
        {unplaced && <p className="text-sm text-red-800" role="alert">{unplaced}</p>}
        <div className="flex justify-end gap-2">
          <button type="button" className={button.secondary} onClick={onClose}>Cancel</button>
          <button type="submit" className={button.primary} disabled={save.isPending || f.rule_id === ""}>
            {rule ? "Save rule" : "Create rule"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function Condition({ f, set, error, offered, single }: { f: RuleForm; set: (p: Partial<RuleForm>) => void; error?: string; offered?: string; single: string }) {
  if (f.kind === "status") {
    return (
      <fieldset>
        <legend className="text-sm font-medium text-slate-800">When the status is</legend>
        <div className="flex gap-3">
          {STATUSES.map((s) => (
            <label key={s} className="flex items-center gap-1 text-sm">
              <input
                type="checkbox"
                checked={f.statuses.includes(s)}
                onChange={(e) => set({ statuses: e.target.checked ? [...f.statuses, s] : f.statuses.filter((x) => x !== s) })}
              />
              {s}
            </label>
          ))}
        </div>
        {error && <p className="mt-1 text-xs text-red-800" role="alert">{error}</p>}
      </fieldset>
    );
  }
  if (f.kind === "metric") {
    return (
      <div className="grid grid-cols-2 gap-3 rounded-md bg-slate-50 p-3">
        <Field label="Metric">
          <input className={input} list="rule-metrics" value={f.metric} onChange={(e) => set({ metric: e.target.value.trim() })} />
          <datalist id="rule-metrics">{METRICS.map((m) => <option key={m} value={m} />)}</datalist>
        </Field>
        <Field label="Aggregate">
          <select className={input} value={f.aggregate} disabled={f.metric === "error_rate"} onChange={(e) => set({ aggregate: e.target.value })}>
            {AGGREGATES.map((a) => <option key={a}>{a}</option>)}
          </select>
        </Field>
        <Field label="Fires when">
          <div className="flex gap-2">
            <select className={`${input} w-28`} aria-label="Above or below" value={f.side} onChange={(e) => set({ side: e.target.value as "above" | "below" })}>
              <option value="above">above</option>
              <option value="below">below</option>
            </select>
            <input className={input} aria-label="Threshold" inputMode="decimal" value={f.threshold} onChange={(e) => set({ threshold: e.target.value })} />
          </div>
        </Field>
        <Field label="Over the last">
          <input className={input} value={f.window} onChange={(e) => set({ window: e.target.value })} />
        </Field>
        {offered !== undefined && (
          <p className="col-span-2 text-xs text-slate-700" data-testid="offered-threshold">
            {single}'s own threshold for {f.metric} is {offered}.
          </p>
        )}
        {error && <p className="col-span-2 text-xs text-red-800" role="alert">{error}</p>}
      </div>
    );
  }
  if (f.kind === "cert_expiry") {
    return (
      <Field label="Fires when the certificate expires within (days)" error={error}>
        <input className={input} inputMode="decimal" value={f.days} onChange={(e) => set({ days: e.target.value })} />
      </Field>
    );
  }
  if (f.kind === "anomaly") {
    return (
      <fieldset className="rounded-md bg-slate-50 p-3">
        <legend className="text-sm font-medium text-slate-800">Fires while the current or last hour is unusual in</legend>
        <div className="mt-1 flex gap-4">
          {ANOMALY_METRICS.map(([m, name]) => (
            <label key={m} className="flex items-center gap-1 text-sm">
              <input
                type="checkbox"
                checked={f.anomaly_metrics.includes(m)}
                onChange={(e) => set({ anomaly_metrics: e.target.checked ? [...f.anomaly_metrics, m] : f.anomaly_metrics.filter((x) => x !== m) })}
              />
              {name}
            </label>
          ))}
        </div>
        <Field label="At least this many deviations above usual (0: any unusual hour)">
          <input className={input} inputMode="decimal" value={f.min_score} onChange={(e) => set({ min_score: e.target.value })} />
        </Field>
        {error && <p className="mt-1 text-xs text-red-800" role="alert">{error}</p>}
      </fieldset>
    );
  }
  return (
    <Field label="Fires after this many check intervals without a result" error={error}>
      <input className={input} inputMode="numeric" value={f.intervals} onChange={(e) => set({ intervals: e.target.value })} />
    </Field>
  );
}
