import { useVirtualizer } from "@tanstack/react-virtual";
import { useRef } from "react";
import { Link } from "react-router-dom";
import type { LatestStatus } from "../../api/types";
import { StatusBadge } from "../../status/StatusBadge";
import { freshness, useNow } from "../../status/freshness";
import { MaintenanceBadge, maintenanceOf, useMaintenance } from "../alerts/maintenance";
import { AlertBadge, useAlertStates } from "../alerts/alertState";

const ROW = 56;

/** Services as rows; only the visible ones are rendered (10,000+ scroll smoothly). */
export function ServiceList({ services }: { services: LatestStatus[] }) {
  const parent = useRef<HTMLDivElement>(null);
  const now = useNow();
  const windows = useMaintenance().data;
  const alerting = useAlertStates();
  const rows = useVirtualizer({
    count: services.length,
    getScrollElement: () => parent.current,
    estimateSize: () => ROW,
    overscan: 12,
  });
  if (services.length === 0) {
    return <p className="p-6 text-center text-slate-600">No service matches.</p>;
  }
  return (
    <div ref={parent} className="h-[calc(100vh-16rem)] min-h-64 overflow-auto" data-testid="service-list">
      <ul className="relative" style={{ height: rows.getTotalSize() }} aria-label="Services">
        {rows.getVirtualItems().map((row) => {
          const s = services[row.index];
          const fresh = freshness(s, now);
          const maintenance = maintenanceOf(windows, s);
          const alert = alerting?.get(s.service_id);
          return (
            <li
              key={s.service_id}
              className="absolute inset-x-0 flex items-center gap-3 border-b border-slate-200 px-3"
              style={{ height: ROW, transform: `translateY(${row.start}px)` }}
              data-service={s.service_id}
            >
              <span className="w-24 shrink-0">
                <StatusBadge code={s.status_code} />
              </span>
              <div className="min-w-0 flex-1">
                <Link
                  to={`/services/${encodeURIComponent(s.service_id)}`}
                  className="block truncate font-medium text-slate-900 hover:underline focus:outline-2 focus:outline-sky-600"
                >
                  {s.service_id}
                  {s.label && s.label !== s.service_id && <span className="ml-2 text-xs font-normal text-slate-600">{s.label}</span>}
                  {maintenance && <MaintenanceBadge comment={maintenance} />}
                  {alert && <AlertBadge state={alert} />}
                </Link>
                <p className="truncate text-xs text-slate-600" title={s.message}>
                  {s.message || "—"}
                </p>
              </div>
              <span
                className={`hidden w-36 truncate text-xs sm:block ${fresh?.stale ? "font-semibold text-amber-800" : "text-slate-600"}`}
                data-stale={fresh?.stale ? "true" : undefined}
                title={s.stale_at ? `stale after ${new Date(s.stale_at).toLocaleString()}` : undefined}
              >
                {fresh ? `${fresh.stale ? "⚠ " : ""}${fresh.text}` : ""}
              </span>
              <span className="hidden w-32 truncate text-xs text-slate-600 md:block">{s.service_type}</span>
              <span className="hidden w-20 text-right text-xs text-slate-600 sm:block">
                {s.response_time_ms != null ? `${Math.round(s.response_time_ms)} ms` : ""}
              </span>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
