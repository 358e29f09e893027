// Which services have an alert firing now (the most severe one, and whether
// someone acknowledged it): shown next to each service on the dashboard, on
// the map and on the service page. Polled, as alerts change with rounds.
import { useQuery } from "@tanstack/react-query";
import { type Alert, alertKeys, alerts } from "./api";

const RANK: Record<string, number> = { critical: 3, warning: 2, info: 1 };

export interface AlertState {
  severity: Alert["severity"];
  acknowledged: boolean;
  flapping: boolean;
  count: number;
}

/** Firing alerts by service id: the most severe, acknowledged only if all are. */
export function byService(list: Alert[] | undefined): Map<string, AlertState> {
  const out = new Map<string, AlertState>();
  for (const a of list ?? []) {
    if (a.state !== "firing") continue;
    const old = out.get(a.service_id);
    const ack = a.acknowledged_by != null;
    if (!old) {
      out.set(a.service_id, { severity: a.severity, acknowledged: ack, flapping: a.flapping === true, count: 1 });
      continue;
    }
    out.set(a.service_id, {
      severity: (RANK[a.severity] ?? 0) > (RANK[old.severity] ?? 0) ? a.severity : old.severity,
      acknowledged: old.acknowledged && ack,
      flapping: old.flapping || a.flapping === true,
      count: old.count + 1,
    });
  }
  return out;
}

export function useAlertStates() {
  const q = useQuery({
    queryKey: alertKeys.list("firing"),
    queryFn: ({ signal }) => alerts.list("firing", signal),
    refetchInterval: 10_000,
    select: byService,
  });
  return q.data;
}

const TONE: Record<string, string> = {
  critical: "bg-red-100 text-red-900 ring-red-300",
  warning: "bg-amber-100 text-amber-900 ring-amber-300",
  info: "bg-sky-100 text-sky-900 ring-sky-300",
};

/** "▲ critical alert" (or "acknowledged"), in words, not colour alone. */
export function alertText(s: AlertState): string {
  const what = `${s.severity} alert${s.count > 1 ? ` ×${s.count}` : ""}`;
  return s.acknowledged ? `${what}, acknowledged` : s.flapping ? `${what}, flapping` : what;
}

export function AlertBadge({ state }: { state: AlertState }) {
  return (
    <span
      className={`ml-2 rounded-md px-1.5 py-0.5 text-xs font-semibold ring-1 ring-inset ${TONE[state.severity] ?? TONE.info}`}
      data-testid="alert-badge"
      data-severity={state.severity}
    >
      <span aria-hidden="true">{state.acknowledged ? "✓ " : "▲ "}</span>
      {alertText(state)}
    </span>
  );
}
