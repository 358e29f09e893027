// The rules and channels in force, on the Alerts page: each rule in words
// (what it watches, for how long, whom it notifies), each channel with a
// test button; editors (rules) and admins (channels) open their dialogs.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useAuth } from "../auth/useAuth";
import { button } from "../../ui/Dialog";
import { useToast } from "../../ui/toast";
import { type Channel, type Rule, configKeys, config } from "./api";
import { ChannelDialog } from "./ChannelDialog";
import { RuleDialog } from "./RuleDialog";
import { duration } from "./ruleForm";

/** "p95 response_time_ms above 500 over 5m", "FAILED or DEGRADED". */
export function describeCondition(r: Rule): string {
  const c = r.condition;
  switch (c.kind) {
    case "status":
      return `status ${c.statuses.join(" or ")}`;
    case "metric":
      return `${c.metric === "error_rate" ? "" : `${c.aggregate} `}${c.metric} ${c.below ? "below" : "above"} ${c.threshold} over ${duration(c.window_ms)}`;
    case "cert_expiry":
      return `certificate expires within ${c.days} days`;
    case "absent":
      return `no result for ${c.intervals} intervals`;
    case "anomaly":
      return `unusual ${c.metrics.map((m) => (m === "error_rate" ? "error rate" : "response time")).join(" or ")}${c.min_score > 0 ? ` (${c.min_score}+ deviations)` : ""}`;
  }
}

type Editing<T> = { item?: T } | null;

/** Held by the catalog file: changed there, not here. */
function Held({ by }: { by: string }) {
  return (
    <span className="ml-1 text-xs text-slate-600" title={by}>
      · from {by.startsWith("file:") ? "the catalog file" : by}
    </span>
  );
}

export function RulesPanel() {
  const { can } = useAuth();
  const toast = useToast();
  const client = useQueryClient();
  const rules = useQuery({ queryKey: configKeys.rules, queryFn: ({ signal }) => config.rules(signal) });
  const channels = useQuery({ queryKey: configKeys.channels, queryFn: ({ signal }) => config.channels(signal), enabled: can("catalog_read") });
  const [rule, setRule] = useState<Editing<Rule>>(null);
  const [channel, setChannel] = useState<Editing<Channel>>(null);
  const remove = useMutation({
    mutationFn: ({ kind, id }: { kind: "rule" | "channel"; id: string }) => (kind === "rule" ? config.deleteRule(id) : config.deleteChannel(id)),
    onSuccess: (_, { kind, id }) => {
      toast("success", `Deleted ${kind} ${id}`);
      void client.invalidateQueries({ queryKey: kind === "rule" ? configKeys.rules : configKeys.channels });
    },
    onError: (e) => toast("error", e.message),
  });
  const test = useMutation({
    mutationFn: (id: string) => config.testChannel(id),
    onSuccess: (a, id) => toast(a.ok ? "success" : "error", `${id}: ${a.ok ? "test delivered" : "test not delivered"}${a.code ? ` (${a.code})` : ""}${a.detail ? `: ${a.detail}` : ""}`),
    onError: (e) => toast("error", e.message),
  });
  const all = channels.data ?? [];
  return (
    <div className="grid gap-4 lg:grid-cols-2">
      <div className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
        <div className="mb-2 flex items-center justify-between">
          <h2 className="font-semibold">Rules</h2>
          {can("catalog_write") && (
            <button type="button" className={button.primary} onClick={() => setRule({})}>
              New rule
            </button>
          )}
        </div>
        {rules.data?.length === 0 && <p className="text-sm text-slate-700">No rules: nobody is notified.</p>}
        <ul className="flex flex-col gap-2 text-sm">
          {rules.data?.map((r) => (
            <li key={r.rule_id} className="flex items-start justify-between gap-2" data-testid="rule">
              <div>
                <span className="font-medium">{r.name}</span> <span className="text-slate-600">({r.rule_id}, {r.severity}{r.enabled ? "" : ", disabled"})</span>
                {r.managed_by && <Held by={r.managed_by} />}
                <div className="text-slate-700">
                  {describeCondition(r)}
                  {r.for_ms > 0 && ` for ${duration(r.for_ms)}`} → {r.channels.join(", ") || "no channel"}
                </div>
              </div>
              {can("catalog_write") && !r.managed_by && (
                <div className="flex shrink-0 gap-1">
                  <button type="button" className={button.secondary} onClick={() => setRule({ item: r })} aria-label={`Edit rule ${r.rule_id}`}>
                    Edit
                  </button>
                  <button type="button" className={button.secondary} onClick={() => remove.mutate({ kind: "rule", id: r.rule_id })} aria-label={`Delete rule ${r.rule_id}`}>
                    Delete
                  </button>
                </div>
              )}
            </li>
          ))}
        </ul>
      </div>
      {can("catalog_read") && (
        <div className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
          <div className="mb-2 flex items-center justify-between">
            <h2 className="font-semibold">Channels</h2>
            {can("admin") && (
              <button type="button" className={button.primary} onClick={() => setChannel({})}>
                New channel
              </button>
            )}
          </div>
          {all.length === 0 && <p className="text-sm text-slate-700">No channels yet.</p>}
          <ul className="flex flex-col gap-2 text-sm">
            {all.map((c) => (
              <li key={c.channel_id} className="flex items-center justify-between gap-2" data-testid="channel">
                <span>
                  <span className="font-medium">{c.name}</span> <span className="text-slate-600">({c.channel_id}, {c.target.kind})</span>
                  {c.managed_by && <Held by={c.managed_by} />}
                </span>
                {can("admin") && (
                  <div className="flex shrink-0 gap-1">
                    <button type="button" className={button.secondary} onClick={() => test.mutate(c.channel_id)} aria-label={`Test channel ${c.channel_id}`}>
                      Test
                    </button>
                    {!c.managed_by && (
                      <>
                        <button type="button" className={button.secondary} onClick={() => setChannel({ item: c })} aria-label={`Edit channel ${c.channel_id}`}>
                          Edit
                        </button>
                        <button type="button" className={button.secondary} onClick={() => remove.mutate({ kind: "channel", id: c.channel_id })} aria-label={`Delete channel ${c.channel_id}`}>
                          Delete
                        </button>
                      </>
                    )}
                  </div>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
      {rule && <RuleDialog rule={rule.item} channels={all} open onClose={() => setRule(null)} />}
      {channel && <ChannelDialog channel={channel.item} open onClose={() => setChannel(null)} />}
    </div>
  );
}
