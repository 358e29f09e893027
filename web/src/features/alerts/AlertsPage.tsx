// Alerts as the evaluator keeps them: firing, pending or resolved, each
// with its service, rule, severity, since when, whom it groups, and who
// acknowledged it; editors acknowledge, take back and resolve them here.
// Below, the notifications the outbox sent or still tries to send.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router-dom";
import { useAuth } from "../auth/useAuth";
import { button } from "../../ui/Dialog";
import { useToast } from "../../ui/toast";
import { type Alert, type Notification, alertKeys, alerts } from "./api";
import { RulesPanel } from "./RulesPanel";

const when = (ms?: number | null) => (ms == null ? "" : new Date(ms).toLocaleString());

const STATES: [string, string][] = [
  ["firing", "Firing"],
  ["acknowledged", "Acknowledged"],
  ["silenced", "Silenced"],
  ["pending", "Pending"],
  ["resolved", "Resolved"],
  ["", "All"],
];

/** The server's state filter for a tab (acknowledged and silenced alerts are firing ones). */
const asked = (tab: string) => (tab === "acknowledged" || tab === "silenced" ? "firing" : tab);

function shown(a: Alert, tab: string, text: string): boolean {
  if (tab === "acknowledged" && !a.acknowledged_by) return false;
  if (tab === "silenced" && !a.silenced_by) return false;
  const t = text.trim().toLowerCase();
  return t === "" || [a.service_id, a.rule_id, a.severity, a.message].some((x) => x?.toLowerCase().includes(t));
}

const SEVERITY: Record<string, string> = {
  critical: "bg-red-100 text-red-900 ring-red-300",
  warning: "bg-amber-100 text-amber-900 ring-amber-300",
  info: "bg-sky-100 text-sky-900 ring-sky-300",
};

function Badge({ text, tone }: { text: string; tone: string }) {
  return <span className={`rounded-md px-2 py-0.5 text-xs font-semibold ring-1 ring-inset ${tone}`}>{text}</span>;
}

/** How the alert stands, in words. */
function standing(a: Alert): string {
  const parts: string[] = [a.state];
  if (a.acknowledged_by) parts.push(`acknowledged by ${a.acknowledged_by}`);
  if (a.resolved_by) parts.push(`resolved by ${a.resolved_by}`);
  if (a.flapping) parts.push("flapping");
  if (a.silenced_by) parts.push(`silenced by ${a.silenced_by}`);
  if (a.root_cause) parts.push(`grouped under ${a.root_cause}`);
  return parts.join(" · ");
}

export default function AlertsPage() {
  const [state, setState] = useState("firing");
  const [text, setText] = useState("");
  const { can } = useAuth();
  const toast = useToast();
  const client = useQueryClient();
  const list = useQuery({
    queryKey: alertKeys.list(asked(state)),
    queryFn: ({ signal }) => alerts.list(asked(state), signal),
    refetchInterval: 5_000,
  });
  const rows = (list.data ?? []).filter((a) => shown(a, state, text));
  const act = useMutation({
    mutationFn: ({ a, action }: { a: Alert; action: "acknowledge" | "unacknowledge" | "resolve" }) => alerts[action](a.alert_id),
    onSuccess: (_, { a, action }) => {
      toast("success", `${action === "unacknowledge" ? "Took back the acknowledgement of" : action === "acknowledge" ? "Acknowledged" : "Resolved"} ${a.service_id}`);
      void client.invalidateQueries({ queryKey: alertKeys.all });
    },
    onError: (e) => toast("error", e.message),
  });
  const editable = can("catalog_write");
  return (
    <section className="flex flex-col gap-4">
      <div className="flex flex-wrap items-center gap-2">
        <div role="tablist" aria-label="Alert state" className="flex flex-wrap gap-1">
          {STATES.map(([value, label]) => (
            <button
              key={label}
              type="button"
              role="tab"
              aria-selected={state === value}
              className={state === value ? button.primary : button.secondary}
              onClick={() => setState(value)}
            >
              {label}
            </button>
          ))}
        </div>
        <input
          type="search"
          aria-label="Filter alerts"
          placeholder="Service, rule, severity or message"
          className="ml-auto w-72 rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
      </div>
      {list.error && <p className="text-red-700">{list.error.message}</p>}
      {list.data && rows.length === 0 && <p className="text-slate-700">No {state || ""} alerts{text ? " match" : ""}.</p>}
      {rows.length > 0 && (
        <table className="w-full border-collapse rounded-lg bg-white text-left text-sm shadow-sm">
          <thead className="border-b border-slate-200 text-slate-700">
            <tr>
              <th className="p-2">Service</th>
              <th className="p-2">Rule</th>
              <th className="p-2">Severity</th>
              <th className="p-2">State</th>
              <th className="p-2">Since</th>
              <th className="p-2">Impacted</th>
              {editable && <th className="p-2">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {rows.map((a) => (
              <tr key={a.alert_id} className="border-b border-slate-100" data-testid="alert-row" data-alert={a.alert_id}>
                <td className="p-2">
                  <Link className="font-medium text-slate-900 underline" to={`/services/${encodeURIComponent(a.service_id)}`}>
                    {a.service_id}
                  </Link>
                  <div className="text-xs text-slate-600">
                    {a.status}: {a.message}
                  </div>
                </td>
                <td className="p-2">{a.rule_id}</td>
                <td className="p-2">
                  <Badge text={a.severity} tone={SEVERITY[a.severity] ?? SEVERITY.info} />
                </td>
                <td className="p-2" data-testid="alert-state">
                  {standing(a)}
                </td>
                <td className="p-2">{when(a.fired_ms ?? a.since_ms)}</td>
                <td className="p-2">{a.impacted.length > 0 ? a.impacted.join(", ") : "—"}</td>
                {editable && (
                  <td className="p-2">
                    {a.state !== "resolved" && (
                      <div className="flex flex-wrap gap-1">
                        {a.acknowledged_by ? (
                          <button type="button" className={button.secondary} onClick={() => act.mutate({ a, action: "unacknowledge" })}>
                            Take back
                          </button>
                        ) : (
                          <button type="button" className={button.secondary} onClick={() => act.mutate({ a, action: "acknowledge" })}>
                            Acknowledge
                          </button>
                        )}
                        <button type="button" className={button.secondary} onClick={() => act.mutate({ a, action: "resolve" })}>
                          Resolve
                        </button>
                      </div>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <RulesPanel />
      {can("catalog_read") && <Notifications />}
    </section>
  );
}

function Notifications() {
  const list = useQuery({
    queryKey: alertKeys.notifications,
    queryFn: ({ signal }) => alerts.notifications(signal),
    refetchInterval: 5_000,
  });
  const rows: Notification[] = (list.data ?? []).slice(0, 50);
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <h2 className="mb-2 font-semibold">Notifications</h2>
      {rows.length === 0 ? (
        <p className="text-sm text-slate-700">None sent yet.</p>
      ) : (
        <ul className="flex flex-col gap-1 text-sm">
          {rows.map((n) => (
            <li key={n.notification_id} data-testid="notification">
              <span className="font-medium">{n.message.event}</span> {n.message.service_id} → {n.channel_id}:{" "}
              <span data-testid="delivery">{n.delivery.replace("_", " ")}</span>
              {n.attempts > 0 && ` after ${n.attempts} attempt${n.attempts === 1 ? "" : "s"}`}
              {n.reference && ` (${n.reference})`} <span className="text-slate-600">{when(n.created_ms)}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
