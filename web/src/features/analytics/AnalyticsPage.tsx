// Analytics: what is heading for its limit (`AtRisk`), what is unusual (`Unusual`), and the SLA report of a period. Every service's uptime against
// its objective, the error budget used and how fast it burns, worst first;
// how DEGRADED and maintenance windows count is chosen here and stated;
// the same report downloads as CSV or PDF.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router-dom";
import { type SlaQuery, type SlaRow, sla, slaKeys, slaUrl } from "./api";
import { AtRisk } from "./AtRisk";
import { Unusual } from "./Unusual";

const field = "rounded-md border border-slate-300 bg-white px-3 py-2 text-sm";
const PERIODS: [number, string][] = [
  [1, "Last 24 hours"],
  [7, "Last 7 days"],
  [30, "Last 30 days"],
  [90, "Last 90 days"],
];

const num = (v: number | null | undefined, places: number) => (v == null ? "—" : v.toFixed(places));

/** A duration in ms as minutes, hours or days. */
function span(ms: number | null | undefined): string {
  if (ms == null) return "—";
  const min = ms / 60_000;
  if (min < 90) return `${Math.round(min)} min`;
  if (min < 48 * 60) return `${(min / 60).toFixed(1)} h`;
  return `${(min / 1440).toFixed(1)} d`;
}

function Row({ r }: { r: SlaRow }) {
  const missed = r.met === false;
  return (
    <tr className="border-t border-slate-100" data-testid="sla-row" data-met={String(r.met)}>
      <td className="py-1 pr-3">
        <Link className="underline" to={`/services/${encodeURIComponent(r.service_id)}`}>{r.service_id}</Link>
        {r.label && r.label !== r.service_id && <span className="ml-1 text-xs text-slate-600">{r.label}</span>}
      </td>
      <td className={`py-1 pr-3 text-right tabular-nums ${missed ? "font-semibold text-red-800" : ""}`}>{num(r.uptime_pct, 3)}</td>
      <td className="py-1 pr-3 text-right tabular-nums">{r.objective_pct}</td>
      <td className="py-1 pr-3 text-right tabular-nums">{num(r.budget_used_pct, 1)}</td>
      <td className="py-1 pr-3 text-right tabular-nums">{num(r.burn_rate, 2)}</td>
      <td className="py-1 pr-3 text-right tabular-nums">{r.up} / {r.down}</td>
      <td className="py-1 pr-3 text-right tabular-nums">{r.in_maintenance}</td>
      <td className="py-1 pr-3 text-right tabular-nums">{r.incidents}</td>
      <td className="py-1 pr-3 text-right tabular-nums">{span(r.mttr_ms)}</td>
      <td className="py-1 pr-3 text-right tabular-nums">{span(r.mtbf_ms)}</td>
      <td className="py-1">{r.met == null ? "no data" : r.met ? "met" : "missed"}</td>
    </tr>
  );
}

export default function AnalyticsPage() {
  const [q, setQ] = useState<SlaQuery>({ days: 30, degraded: "up", maintenance: "exclude", objective: 99.9 });
  const [objective, setObjective] = useState("99.9");
  const report = useQuery({ queryKey: slaKeys.of(q), queryFn: ({ signal }) => sla(q, signal), placeholderData: keepPreviousData, refetchInterval: 300_000 });
  const data = report.data;
  const applyObjective = (text: string) => {
    setObjective(text);
    const v = Number(text);
    if (text !== "" && v > 0 && v < 100) setQ({ ...q, objective: v });
  };
  return (
    <section className="space-y-4">
      <h2 className="text-lg font-semibold">Analytics: availability against objectives</h2>
      <div className="flex flex-wrap items-end gap-3 text-sm">
        <label className="flex flex-col gap-1">
          Period
          <select className={field} value={q.days} onChange={(e) => setQ({ ...q, days: Number(e.target.value) })}>
            {PERIODS.map(([d, name]) => <option key={d} value={d}>{name}</option>)}
          </select>
        </label>
        <label className="flex flex-col gap-1">
          DEGRADED counts as
          <select className={field} value={q.degraded} onChange={(e) => setQ({ ...q, degraded: e.target.value as SlaQuery["degraded"] })}>
            <option value="up">up</option>
            <option value="down">down</option>
          </select>
        </label>
        <label className="flex flex-col gap-1">
          Maintenance windows
          <select className={field} value={q.maintenance} onChange={(e) => setQ({ ...q, maintenance: e.target.value as SlaQuery["maintenance"] })}>
            <option value="exclude">left out</option>
            <option value="include">counted</option>
          </select>
        </label>
        <label className="flex flex-col gap-1">
          Objective (%) where a service sets none
          <input className={field} inputMode="decimal" value={objective} onChange={(e) => applyObjective(e.target.value)} aria-invalid={!(Number(objective) > 0 && Number(objective) < 100)} />
        </label>
        <span className="flex-1" />
        <a className="rounded-md border border-slate-300 bg-white px-3 py-2 hover:bg-slate-100" href={slaUrl(q, "csv")} download>Download CSV</a>
        <a className="rounded-md border border-slate-300 bg-white px-3 py-2 hover:bg-slate-100" href={slaUrl(q, "pdf")} download>Download PDF</a>
      </div>
      <AtRisk />
      <Unusual />
      {report.error ? (
        <p className="text-red-800" role="alert">Cannot load the report: {report.error.message}</p>
      ) : !data ? (
        <p className="text-slate-600">Loading…</p>
      ) : (
        <>
          <div className="rounded-lg border border-slate-200 bg-white p-3 text-sm shadow-sm" data-testid="sla-summary">
            <p className="font-semibold">
              {data.summary.services} services: {data.summary.met} met their objective, {data.summary.missed} missed it, {data.summary.no_data} without data.
            </p>
            {data.summary.worst.length > 0 && <p>Lowest uptime: {data.summary.worst.join(", ")}</p>}
            {data.summary.most_incidents.length > 0 && <p>Most incidents: {data.summary.most_incidents.join(", ")}</p>}
            <p className="mt-1 text-xs text-slate-600">{data.method.statement}</p>
          </div>
          <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white p-3 shadow-sm">
            <table className="w-full text-sm">
              <caption className="sr-only">Availability per service, worst first</caption>
              <thead className="text-left text-xs text-slate-600">
                <tr>
                  <th className="pr-3 font-semibold">Service</th>
                  <th className="pr-3 text-right font-semibold">Uptime %</th>
                  <th className="pr-3 text-right font-semibold">Objective %</th>
                  <th className="pr-3 text-right font-semibold">Budget used %</th>
                  <th className="pr-3 text-right font-semibold">Burn rate</th>
                  <th className="pr-3 text-right font-semibold">Up / down results</th>
                  <th className="pr-3 text-right font-semibold">In maintenance</th>
                  <th className="pr-3 text-right font-semibold">Incidents</th>
                  <th className="pr-3 text-right font-semibold"><abbr title="mean time to recover">MTTR</abbr></th>
                  <th className="pr-3 text-right font-semibold"><abbr title="mean time between failures">MTBF</abbr></th>
                  <th className="font-semibold">Objective</th>
                </tr>
              </thead>
              <tbody>{data.services.map((r) => <Row key={r.service_id} r={r} />)}</tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
