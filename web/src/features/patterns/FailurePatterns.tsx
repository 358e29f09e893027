// The failure patterns of a range: the messages of failing results grouped
// by template (varying words shown as …), most frequent first, with where
// and when they occurred. Fleet-wide, a pattern lists its services.
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { StatusBadge } from "../../status/StatusBadge";
import { STATUSES } from "../../status/statuses";
import { failurePatterns, patternKeys, searchWords } from "./api";

function Template({ text }: { text: string }) {
  return (
    <code className="break-words text-slate-900">
      {text.split(" ").map((w, i) => (
        <span key={i}>
          {i > 0 && " "}
          {w === "<*>" ? <span className="rounded bg-slate-200 px-1 text-slate-700" title="varies">…</span> : w}
        </span>
      ))}
    </code>
  );
}

export function FailurePatterns({ serviceId = "", hours }: { serviceId?: string; hours: number }) {
  const found = useQuery({
    queryKey: patternKeys.of(serviceId, hours),
    queryFn: ({ signal }) => failurePatterns(serviceId, hours, signal),
    refetchInterval: 60_000,
  });
  const label = hours >= 48 ? `${Math.round(hours / 24)} days` : `${hours} hour${hours === 1 ? "" : "s"}`;
  return (
    <section className="rounded-lg border border-slate-200 bg-white p-3 text-sm shadow-sm" aria-labelledby="patterns-title" data-testid="failure-patterns">
      <h3 id="patterns-title" className="mb-2 font-semibold">
        Failure patterns, last {label}
      </h3>
      {found.error ? (
        <p className="text-red-800" role="alert">Cannot load failure patterns: {found.error.message}</p>
      ) : !found.data ? (
        <p className="text-slate-600">Loading…</p>
      ) : found.data.patterns.length === 0 ? (
        <p className="text-slate-600">No failing results in this range.</p>
      ) : (
        <ol className="flex flex-col gap-2">
          {found.data.patterns.map((p) => (
            <li key={p.template} className="border-t border-slate-100 pt-2 first:border-0 first:pt-0" data-testid="pattern">
              <div className="flex flex-wrap items-center gap-2">
                <StatusBadge code={STATUSES.find((s) => s.name === p.status)?.code ?? 5} />
                <span className="font-semibold" data-testid="pattern-count">{p.count}×</span>
                <Template text={p.template} />
              </div>
              <p className="mt-1 text-xs text-slate-600">
                {!serviceId && (
                  <>
                    in{" "}
                    {p.services.slice(0, 8).map((s, i) => (
                      <span key={s.service_id}>
                        {i > 0 && ", "}
                        <Link className="underline" to={`/services/${encodeURIComponent(s.service_id)}`}>{s.service_id}</Link> ({s.count})
                      </span>
                    ))}
                    {p.services.length > 8 && ` and ${p.services.length - 8} more`} ·{" "}
                  </>
                )}
                last {new Date(p.last_seen).toLocaleString()} ·{" "}
                <Link className="underline" to={`/search?${new URLSearchParams({ q: searchWords(p.template), hours: String(hours), ...(serviceId ? { service_id: serviceId } : {}) })}`}>
                  find the results
                </Link>
              </p>
            </li>
          ))}
        </ol>
      )}
      {found.data?.more && <p className="mt-2 text-xs text-slate-600">From the newest {found.data.results} failing results of the range.</p>}
    </section>
  );
}
