// The unusual hours of a service's range: response time or error rate far
// above the same hour in the weeks before (marked on the response time chart).
import type { AnomalyView } from "./api";

const shown = (a: AnomalyView, v: number) => (a.metric === "response_time_ms" ? `${Math.round(v)} ms` : `${(100 * v).toFixed(1)} %`);

export function UnusualHours({ list }: { list: AnomalyView[] }) {
  return (
    <section className="rounded-lg border border-purple-300 bg-purple-50 p-3 text-sm text-purple-950" aria-labelledby="unusual-title">
      <h3 id="unusual-title" className="mb-1 font-semibold">
        Unusual hours
      </h3>
      <ul className="space-y-0.5">
        {list.map((a) => (
          <li key={`${a.metric}-${a.start}`} data-testid="anomaly">
            ▲ {new Date(a.start).toLocaleString([], { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" })}:{" "}
            {a.metric === "response_time_ms" ? "response time (p95)" : "error rate"} {shown(a, a.value)}, usually {shown(a, a.expected)}
          </li>
        ))}
      </ul>
    </section>
  );
}
