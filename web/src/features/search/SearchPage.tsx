// Search across evidence: recent results whose message or details (error
// text, log tails, stack traces) hold every word, newest first, with the
// matches marked. The query is kept in the address, so a search can be
// shared as a link. Before a search, the range's failure patterns.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { StatusBadge } from "../../status/StatusBadge";
import type { StatusCode } from "../../api/types";
import { type Part, type SearchFilter, searchKeys, searchResults, searchable } from "./api";
import { FailurePatterns } from "../patterns/FailurePatterns";

/** A control that sits in a row (the shared `input` style is full width). */
const field = "rounded-md border border-slate-300 bg-white px-3 py-2 text-sm";

const RANGES: [number, string][] = [
  [1, "Last hour"],
  [24, "Last 24 hours"],
  [24 * 7, "Last 7 days"],
];

function Marked({ parts }: { parts: Part[] }) {
  return (
    <>
      {parts.map((p, i) =>
        p.hit ? (
          <mark key={i} className="rounded bg-amber-200 px-0.5 text-slate-900">
            {p.text}
          </mark>
        ) : (
          <span key={i}>{p.text}</span>
        ),
      )}
    </>
  );
}

export default function SearchPage() {
  const [params, setParams] = useSearchParams();
  const filter: SearchFilter = {
    q: params.get("q") ?? "",
    hours: Number(params.get("hours") ?? 24) || 24,
    service_id: params.get("service_id") ?? "",
  };
  const [typed, setTyped] = useState(filter.q);
  // The address follows the typing, a moment after it stops.
  useEffect(() => {
    const t = setTimeout(() => {
      if (typed !== filter.q) setParams((p) => (typed ? p.set("q", typed) : p.delete("q"), p), { replace: true });
    }, 300);
    return () => clearTimeout(t);
  }, [typed, filter.q, setParams]);
  const set = (key: string, value: string) => setParams((p) => (value ? p.set(key, value) : p.delete(key), p), { replace: true });
  const ready = searchable(filter.q);
  const found = useQuery({
    queryKey: searchKeys.query(filter),
    queryFn: ({ signal }) => searchResults(filter, signal),
    enabled: ready,
    placeholderData: keepPreviousData,
  });
  const hits = ready ? found.data?.hits : undefined;
  return (
    <section className="flex flex-col gap-3">
      <div className="flex flex-wrap items-center gap-2">
        <input
          type="search"
          aria-label="Search evidence"
          placeholder="Words in messages, errors, stack traces (3+ characters each)"
          className={`${field} min-w-64 flex-1`}
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
        />
        <select aria-label="Time range" className={field} value={filter.hours} onChange={(e) => set("hours", e.target.value)}>
          {RANGES.map(([h, name]) => (
            <option key={h} value={h}>
              {name}
            </option>
          ))}
        </select>
        <input aria-label="Service" placeholder="Any service" className={`${field} w-48`} value={filter.service_id} onChange={(e) => set("service_id", e.target.value.trim())} />
      </div>
      <p className="text-sm text-slate-700" role="status" data-testid="search-summary">
        {!filter.q
          ? "Type words to find the results whose message or evidence holds them all."
          : !ready
            ? "Each word needs at least 3 characters (8 words at most)."
            : found.error
              ? `Cannot search: ${found.error.message}`
              : !hits
                ? "Searching…"
                : `${hits.length}${found.data?.more ? "+" : ""} result${hits.length === 1 ? "" : "s"}, newest first`}
      </p>
      {!filter.q && <FailurePatterns serviceId={filter.service_id} hours={filter.hours} />}
      {hits && hits.length > 0 && (
        <ol className="flex flex-col gap-2" data-testid="search-hits">
          {hits.map((h) => (
            <li key={`${h.agent_id}-${h.seq}`} className="rounded-lg border border-slate-200 bg-white p-3 text-sm shadow-sm" data-testid="search-hit">
              <div className="flex flex-wrap items-center gap-2">
                <StatusBadge code={h.status_code as StatusCode} />
                <Link className="font-semibold underline" to={`/services/${encodeURIComponent(h.service_id)}`}>
                  {h.service_id}
                </Link>
                <span className="text-slate-600">
                  {new Date(h.timestamp).toLocaleString()} · {h.agent_id}
                </span>
              </div>
              <p className="mt-1">
                <Marked parts={h.message} />
              </p>
              {h.details && (
                <pre className="mt-2 max-h-40 overflow-auto whitespace-pre-wrap rounded bg-slate-50 p-2 text-xs text-slate-800">
                  <Marked parts={h.details} />
                </pre>
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
