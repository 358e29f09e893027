import { useEffect, useMemo, useRef, useState } from "react";
import type { LatestStatus } from "../../api/types";
import { STATUSES, SEVERITY_ORDER } from "../../status/statuses";
import { countByStatus, filterServices, labelPairs, NO_FILTER, type Filter } from "./filter";
import { ServiceList } from "./ServiceList";

/** Status summary, filters and the list of every service. */
export function DashboardPage({ services, loading, error }: { services: LatestStatus[] | undefined; loading: boolean; error: Error | null }) {
  const [filter, setFilter] = useState<Filter>(NO_FILTER);
  const search = useRef<HTMLInputElement>(null);
  useEffect(() => {
    // `/` focuses the search box, as in most dashboards.
    const onKey = (e: KeyboardEvent) => {
      const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
      if (e.key === "/" && !typing) {
        e.preventDefault();
        search.current?.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  const list = services ?? [];
  const counts = useMemo(() => countByStatus(list), [list]);
  const types = useMemo(() => [...new Set(list.map((s) => s.service_type))].sort(), [list]);
  const pairs = useMemo(() => labelPairs(list), [list]);
  const shown = useMemo(() => filterServices(list, filter, SEVERITY_ORDER), [list, filter]);

  return (
    <section className="space-y-4">
      <div className="grid grid-cols-3 gap-2 sm:grid-cols-6" aria-label="Status summary">
        {STATUSES.map((s) => {
          const active = filter.status === s.code;
          return (
            <button
              key={s.code}
              type="button"
              aria-pressed={active}
              onClick={() => setFilter({ ...filter, status: active ? null : s.code })}
              className={`rounded-lg border bg-white p-3 text-left shadow-sm focus:outline-2 focus:outline-sky-600 ${active ? "border-slate-900" : "border-slate-200"}`}
              data-summary={s.name}
            >
              <span className="flex items-center gap-1.5 text-xs font-semibold text-slate-700">
                <span className={`h-2.5 w-2.5 rounded-full ${s.dot}`} aria-hidden="true" />
                <span aria-hidden="true">{s.icon}</span>
                {s.label}
              </span>
              <span className="text-2xl font-bold">{counts[s.code]}</span>
            </button>
          );
        })}
      </div>
      <div className="flex flex-wrap gap-2">
        <input
          ref={search}
          type="search"
          placeholder="Search services (press /)"
          aria-label="Search services"
          value={filter.text}
          onChange={(e) => setFilter({ ...filter, text: e.target.value })}
          className="min-w-48 flex-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm"
        />
        <select
          aria-label="Service type"
          value={filter.type}
          onChange={(e) => setFilter({ ...filter, type: e.target.value })}
          className="rounded-md border border-slate-300 bg-white px-3 py-2 text-sm"
        >
          <option value="">All types</option>
          {types.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        {pairs.length > 0 && (
          <select
            aria-label="Label"
            value={filter.label}
            onChange={(e) => setFilter({ ...filter, label: e.target.value })}
            className="rounded-md border border-slate-300 bg-white px-3 py-2 text-sm"
          >
            <option value="">All labels</option>
            {pairs.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        )}
      </div>
      <div className="rounded-lg border border-slate-200 bg-white shadow-sm">
        {error ? (
          <p className="p-6 text-red-800" role="alert">
            Cannot load statuses: {error.message}
          </p>
        ) : loading && !services ? (
          <p className="p-6 text-slate-600">Loading…</p>
        ) : (
          <ServiceList services={shown} />
        )}
      </div>
      <p className="text-xs text-slate-600">
        {shown.length} of {list.length} services
      </p>
    </section>
  );
}
