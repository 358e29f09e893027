// One service: live status with message and details, uptime and history
// over a chosen range, and its relations.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router-dom";
import { admin, adminKeys } from "../admin/api";
import { RANGES, type Range, detailKeys, history } from "./api";
import type { LatestStatus } from "../../api/types";
import { STATUS_KEY, statuses } from "../live/api";
import { StatusBadge } from "../../status/StatusBadge";
import { useAuth } from "../auth/useAuth";
import { MaintenanceBadge, maintenanceOf, useMaintenance } from "../alerts/maintenance";
import { AlertBadge, useAlertStates } from "../alerts/alertState";
import { SilenceForm } from "../alerts/SilenceForm";
import { HistoryCharts } from "./Charts";
import { FailurePatterns } from "../patterns/FailurePatterns";
import { UnusualHours } from "./UnusualHours";
import { AiInsights } from "../insights/AiInsights";

export default function ServiceDetailPage({ services }: { services: LatestStatus[] | undefined }) {
  const id = useParams().id ?? "";
  const [range, setRange] = useState<Range>(RANGES[1]);
  const client = useQueryClient();
  const [refreshing, setRefreshing] = useState(false);
  // On demand: this service's status now, without waiting for the stream or the poll.
  const refresh = async () => {
    setRefreshing(true);
    try {
      const now = await statuses.one(id);
      client.setQueryData<LatestStatus[]>(STATUS_KEY, (list) => list?.map((s) => (s.service_id === id ? now : s)));
      await client.invalidateQueries({ queryKey: detailKeys.service(id) });
    } finally {
      setRefreshing(false);
    }
  };
  const current = services?.find((s) => s.service_id === id);
  const { can } = useAuth();
  const windows = useMaintenance().data;
  const maintenance = current && maintenanceOf(windows, current);
  const alert = useAlertStates()?.get(id);
  const buckets = useQuery({ queryKey: detailKeys.buckets(id, range.name), queryFn: ({ signal }) => history.buckets(id, range, signal), refetchInterval: 60_000 });
  const summary = useQuery({ queryKey: detailKeys.summary(id, range.name), queryFn: ({ signal }) => history.summary(id, range, signal), refetchInterval: 60_000 });
  const anomalies = useQuery({ queryKey: detailKeys.anomalies(id, range.name), queryFn: ({ signal }) => history.anomalies(id, range, signal), refetchInterval: 300_000 });
  const gaps = useQuery({ queryKey: detailKeys.gaps(id, range.name), queryFn: ({ signal }) => history.gaps(id, range, signal), refetchInterval: 60_000 });
  const latest = useQuery({ queryKey: detailKeys.latest(id, current?.last_check), queryFn: ({ signal }) => history.latest(id, signal) });
  // Relations by service: answers for services outside the catalog too (agent.toml checks).
  const relations = useQuery({ queryKey: adminKeys.relations(id), queryFn: () => admin.relations(id) });
  if (services && !current) {
    return <p className="text-slate-700">No service <code>{id}</code>. <Link className="underline" to="/">Back to the dashboard</Link></p>;
  }
  const stats = summary.data;
  const details = latest.data?.points[0]?.details;
  const rel = relations.data && {
    incoming: relations.data.filter((r) => r.target_service_id === id).map((r) => ({ ...r, other: r.source_service_id })),
    outgoing: relations.data.filter((r) => r.source_service_id === id).map((r) => ({ ...r, other: r.target_service_id })),
  };
  return (
    <section className="space-y-4">
      <div className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
        <div className="flex flex-wrap items-center gap-3">
          {current && <StatusBadge code={current.status_code} />}
          <h2 className="text-lg font-semibold">{id}</h2>
          {maintenance && <MaintenanceBadge comment={maintenance} />}
          {alert && <AlertBadge state={alert} />}
          <span className="text-sm text-slate-600">{current?.service_type}</span>
          <span className="flex-1" />
          {can("catalog_write") && <SilenceForm service={id} />}
          <button type="button" onClick={refresh} disabled={refreshing} className="rounded-md border border-slate-300 px-3 py-1 text-sm hover:bg-slate-100 disabled:opacity-50">
            {refreshing ? "Refreshing…" : "Refresh"}
          </button>
        </div>
        <p className="mt-2 text-sm" data-testid="detail-message">{current?.message}</p>
        {current?.caused_by.length ? <p className="mt-1 text-sm text-amber-800">Impacted by: {current.caused_by.join(", ")}</p> : null}
        <p className="mt-1 text-xs text-slate-600">
          Last check {current?.last_check ? new Date(current.last_check).toLocaleString() : "—"} by {current?.agent_id || "—"}
        </p>
        {details != null && typeof details === "object" && Object.keys(details).length > 0 && (
          <details className="mt-2">
            <summary className="cursor-pointer text-sm text-slate-800">Details (evidence of the last check)</summary>
            <pre className="mt-1 max-h-80 overflow-auto rounded bg-slate-50 p-2 text-xs">{JSON.stringify(details, null, 2)}</pre>
          </details>
        )}
      </div>
      <div className="flex flex-wrap items-center gap-2">
        <div role="group" aria-label="Range" className="flex gap-1">
          {RANGES.map((r) => (
            <button key={r.name} type="button" aria-pressed={r === range} onClick={() => setRange(r)} className={`rounded-md px-3 py-1 text-sm ${r === range ? "bg-slate-900 text-white" : "bg-white text-slate-800 ring-1 ring-slate-300"}`}>
              {r.name}
            </button>
          ))}
        </div>
        <span className="text-sm text-slate-800" data-testid="uptime">
          Uptime {range.name}: {stats?.uptime_pct != null ? `${stats.uptime_pct.toFixed(2)} %` : "—"}
          {stats?.response_time_ms ? ` · p95 ${Math.round(stats.response_time_ms.p95)} ms` : ""}
          {stats ? ` · ${stats.count} results` : ""}
        </span>
      </div>
      {buckets.error ? (
        <p className="text-red-800" role="alert">Cannot load history: {buckets.error.message}</p>
      ) : buckets.data ? (
        buckets.data.buckets.length ? <HistoryCharts buckets={buckets.data.buckets} stepMs={buckets.data.step_ms} anomalies={anomalies.data?.anomalies} /> : <p className="text-slate-600">No results in this range.</p>
      ) : (
        <p className="text-slate-600">Loading history…</p>
      )}
      {anomalies.data?.anomalies.length ? <UnusualHours list={anomalies.data.anomalies} /> : null}
      {gaps.data?.length ? (
        <ul className="space-y-1 rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900" aria-label="Gaps in the history">
          {gaps.data.map((g) => (
            <li key={`${g.agent_id}-${g.from}`} data-gap={g.dropped}>
              ⚠ {g.message}
            </li>
          ))}
        </ul>
      ) : null}
      <AiInsights serviceId={id} />
      <FailurePatterns serviceId={id} hours={range.ms / 3600e3} />
      {rel && (
        <div className="grid gap-3 sm:grid-cols-2">
          {(["incoming", "outgoing"] as const).map((dir) => (
            <div key={dir} className="rounded-lg border border-slate-200 bg-white p-3 text-sm shadow-sm">
              <h3 className="mb-1 font-semibold">{dir === "incoming" ? "Depends on it / sends to it" : "It depends on / sends to"}</h3>
              {rel[dir].length === 0 ? <p className="text-slate-600">None</p> : (
                <ul>{rel[dir].map((r) => <li key={r.relation_id}><Link className="underline" to={`/services/${encodeURIComponent(r.other)}`}>{r.other}</Link> ({r.relation_type})</li>)}</ul>
              )}
            </div>
          ))}
        </div>
      )}
    </section>
  );
}
