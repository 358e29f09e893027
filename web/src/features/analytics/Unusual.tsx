// "Unusual hours": what the anomaly scanner found across the fleet in the
// last day (response time or error rate far above the same hour of the
// weeks before), newest first, each linked to its service.
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { type FoundAnomaly, anomalies } from "./api";

function amount(a: FoundAnomaly, v: number): string {
  return a.metric === "error_rate" ? `${(v * 100).toFixed(1)} %` : `${v.toFixed(0)} ms`;
}

const hour = (iso: string) => new Date(iso).toLocaleString([], { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });

export function Unusual() {
  const found = useQuery({ queryKey: ["anomalies"], queryFn: ({ signal }) => anomalies(signal), refetchInterval: 60_000 });
  return (
    <section className="rounded-lg border border-slate-200 bg-white p-3 text-sm shadow-sm" aria-labelledby="unusual-title" data-testid="unusual">
      <h3 id="unusual-title" className="mb-2 font-semibold">Unusual hours in the last day</h3>
      {found.error ? (
        <p className="text-red-800" role="alert">Cannot load the anomalies: {found.error.message}</p>
      ) : !found.data ? (
        <p className="text-slate-600">Loading…</p>
      ) : found.data.anomalies.length === 0 ? (
        <p className="text-slate-600">Nothing unusual: every service answered as in the same hours of the weeks before.</p>
      ) : (
        <ul className="space-y-1">
          {found.data.anomalies.map((a) => (
            <li key={`${a.service_id} ${a.metric} ${a.start}`} data-testid="fleet-anomaly">
              <Link className="underline" to={`/services/${encodeURIComponent(a.service_id)}`}>{a.label}</Link>: {a.metric === "error_rate" ? "error rate" : "response time (p95)"}{" "}
              <span className="font-semibold">{amount(a, a.value)}</span>, usually {amount(a, a.expected)}, in the hour from {hour(a.start)} ({a.score.toFixed(1)} deviations)
            </li>
          ))}
          {found.data.more && <li className="text-slate-600">… and more; the newest are shown.</li>}
        </ul>
      )}
    </section>
  );
}
