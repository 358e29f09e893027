// "At risk": gauges heading for their limit within the horizon (a
// process's RSS against max_rss, a ClickHouse disk's free space against
// its failing level, a container's memory against its limit, an agent's
// spool against its budget), soonest
// first, with the 95 % band of when.
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { type GaugeForecast, capacity } from "./api";

const HORIZON_DAYS = 30;

function amount(g: GaugeForecast, v: number): string {
  if (g.unit === "%") return `${v.toFixed(1)} %`;
  return `${(v / 2 ** 20).toFixed(0)} MiB`;
}

const day = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString([], { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" }) : "never");

export function AtRisk() {
  const found = useQuery({ queryKey: ["capacity", HORIZON_DAYS], queryFn: ({ signal }) => capacity(HORIZON_DAYS, signal), refetchInterval: 300_000 });
  const risky = found.data?.gauges.filter((g) => g.at_risk) ?? [];
  return (
    <section className="rounded-lg border border-slate-200 bg-white p-3 text-sm shadow-sm" aria-labelledby="risk-title" data-testid="at-risk">
      <h3 id="risk-title" className="mb-2 font-semibold">At risk in the next {HORIZON_DAYS} days</h3>
      {found.error ? (
        <p className="text-red-800" role="alert">Cannot load the forecasts: {found.error.message}</p>
      ) : !found.data ? (
        <p className="text-slate-600">Loading…</p>
      ) : risky.length === 0 ? (
        <p className="text-slate-600">Nothing is heading for its limit ({found.data.gauges.length} gauges watched).</p>
      ) : (
        <ul className="space-y-1">
          {risky.map((g) => (
            <li key={`${g.service_id ?? g.agent_id} ${g.gauge}`} data-testid="risk">
              {g.service_id ? (
                <Link className="underline" to={`/services/${encodeURIComponent(g.service_id)}`}>{g.service_id}</Link>
              ) : (
                <Link className="underline" to="/agents">agent {g.agent_id}</Link>
              )}
              : {g.gauge} {amount(g, g.current)}, limit {amount(g, g.limit)}, reached around{" "}
              <span className="font-semibold">{day(g.reaches_at)}</span> (linear {day(g.linear.earliest)} – {day(g.linear.latest)}; Holt {day(g.holt.at)})
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
