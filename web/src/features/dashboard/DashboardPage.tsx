import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import type { LatestStatus } from "../../api/types";
import { type ViewDefinition, viewKeys, views } from "../views/api";
import { ViewCharts } from "../views/ViewCharts";
import { ViewsBar } from "../views/ViewsBar";
import { STATUSES, SEVERITY_ORDER } from "../../status/statuses";
import { countByStatus, filterServices, labelPairs, NO_FILTER, type Filter } from "./filter";
import { ServiceList } from "./ServiceList";

/** Status summary, filters and the list of every service. */
/** The start page is opened once per visit, not every time the dashboard is. */
let startOpened = false;

export function DashboardPage({ services, loading, error }: { services: LatestStatus[] | undefined; loading: boolean; error: Error | null }) {
  const [filter, setFilter] = useState<Filter>(NO_FILTER);
  const [params, setParams] = useSearchParams();
  const viewId = params.get("view");
  const open = (id: string | null) => setParams(id ? { view: id } : {});
  const active = useQuery({ queryKey: viewKeys.one(viewId ?? ""), queryFn: ({ signal }) => views.one(viewId!, signal), enabled: !!viewId });
  const mine = useQuery({ queryKey: viewKeys.all, queryFn: ({ signal }) => views.mine(signal) });
  const view = viewId ? active.data : undefined;
  useEffect(() => {
    const start = mine.data?.find((v) => v.start);
    if (!startOpened && mine.data) {
      startOpened = true;
      if (!viewId && start) open(start.view_id);
    }
  }, [mine.data]);
  // A view's filters replace the ones set by hand.
  useEffect(() => {
    const d = view?.definition;
    setFilter(d ? { text: d.search ?? "", type: d.service_type ?? "", status: d.status ?? null, label: d.label ?? "" } : NO_FILTER);
  }, [view]);
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
  const chosen = view?.definition.services ?? [];
  const shown = useMemo(
    () => filterServices(chosen.length ? list.filter((s) => chosen.includes(s.service_id)) : list, filter, SEVERITY_ORDER),
    [list, filter, chosen],
  );
  const current: ViewDefinition = {
    search: filter.text,
    status: filter.status,
    service_type: filter.type,
    label: filter.label,
    services: chosen,
    list: true,
    charts: view?.definition.charts ?? [],
    map_focus: view?.definition.map_focus ?? null,
    range: view?.definition.range ?? "24h",
  };
  const showList = view?.definition.list ?? true;

  return (
    <section className="space-y-4">
      <ViewsBar active={view} open={open} current={current} shownIds={shown.map((s) => s.service_id)} />
      {viewId && active.error && (
        <p className="text-red-800" role="alert">
          Cannot open view “{viewId}”: {active.error.message}
        </p>
      )}
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
      {view?.definition.map_focus && (
        <p className="text-sm">
          <Link className="underline" to={`/map?focus=${encodeURIComponent(view.definition.map_focus)}`}>
            Map focused on {view.definition.map_focus}
          </Link>
        </p>
      )}
      {view && (view.definition.charts?.length ?? 0) > 0 && <ViewCharts ids={view.definition.charts ?? []} range={view.definition.range ?? "24h"} />}
      {showList && (
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
      )}
      <p className="text-xs text-slate-600">
        {shown.length} of {list.length} services
      </p>
    </section>
  );
}
