// Maintenance windows open now, and which services they cover: shown on
// the dashboard next to each service in maintenance.
import { useQuery } from "@tanstack/react-query";
import type { LatestStatus } from "../../api/types";
import { alertKeys, alerts, type SilenceView } from "./api";

/** The open maintenance windows, polled each minute (they open and close with time). */
export function useMaintenance() {
  return useQuery({ queryKey: alertKeys.silences, queryFn: ({ signal }) => alerts.silences(signal), refetchInterval: 60_000 });
}

/** The comment of the open maintenance window covering `s`, if one does. */
export function maintenanceOf(windows: SilenceView[] | undefined, s: LatestStatus): string | undefined {
  const w = windows?.find((w) => {
    if (!w.open || !w.maintenance) return false;
    const services = w.matchers.services ?? [];
    const labels = Object.entries(w.matchers.labels ?? {});
    const byService = services.length === 0 || services.includes(s.service_id);
    const byLabels = labels.every(([k, v]) => s.labels?.[k] === v);
    return byService && byLabels && (services.length > 0 || labels.length > 0);
  });
  return w ? w.comment || "maintenance" : undefined;
}

export function MaintenanceBadge({ comment }: { comment: string }) {
  return (
    <span
      className="ml-2 rounded-md bg-violet-100 px-1.5 py-0.5 text-xs font-semibold text-violet-900 ring-1 ring-inset ring-violet-300"
      title={comment}
      data-testid="maintenance"
    >
      maintenance
    </span>
  );
}
