// A saved view's charts: each chosen service's history over the view's range.
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { HistoryCharts } from "../detail/Charts";
import { RANGES, detailKeys, history } from "../detail/api";

function ServiceCharts({ id, rangeName }: { id: string; rangeName: string }) {
  const range = RANGES.find((r) => r.name === rangeName) ?? RANGES[1];
  const buckets = useQuery({ queryKey: detailKeys.buckets(id, range.name), queryFn: ({ signal }) => history.buckets(id, range, signal), refetchInterval: 60_000 });
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-3 shadow-sm" data-testid="view-chart" data-service={id}>
      <h2 className="mb-2 text-sm font-semibold">
        <Link className="underline" to={`/services/${encodeURIComponent(id)}`}>
          {id}
        </Link>{" "}
        <span className="font-normal text-slate-600">over {range.name}</span>
      </h2>
      {buckets.error ? (
        <p className="text-red-800" role="alert">Cannot load history: {buckets.error.message}</p>
      ) : !buckets.data ? (
        <p className="text-slate-600">Loading…</p>
      ) : buckets.data.buckets.length ? (
        <HistoryCharts buckets={buckets.data.buckets} stepMs={buckets.data.step_ms} />
      ) : (
        <p className="text-slate-600">No results in this range.</p>
      )}
    </div>
  );
}

export function ViewCharts({ ids, range }: { ids: string[]; range: string }) {
  return (
    <div className="flex flex-col gap-3" aria-label="Charts">
      {ids.map((id) => (
        <ServiceCharts key={id} id={id} rangeName={range} />
      ))}
    </div>
  );
}
