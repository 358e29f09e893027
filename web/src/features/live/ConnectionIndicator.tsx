import type { ConnectionState } from "./sse";

const LOOK: Record<ConnectionState, { label: string; dot: string }> = {
  connecting: { label: "Connecting", dot: "bg-sky-500" },
  connected: { label: "Live", dot: "bg-green-600" },
  reconnecting: { label: "Reconnecting", dot: "bg-amber-500" },
  offline: { label: "Offline", dot: "bg-red-600" },
};

/** Connection state of the live stream and when data last changed. */
export function ConnectionIndicator({ state, lastUpdate }: { state: ConnectionState; lastUpdate: number | null }) {
  const look = LOOK[state];
  return (
    <div className="flex items-center gap-3 text-sm text-slate-700" role="status" aria-live="polite">
      <span className="flex items-center gap-1.5" data-connection={state}>
        <span className={`h-2.5 w-2.5 rounded-full ${look.dot}`} aria-hidden="true" />
        {look.label}
      </span>
      <span className="hidden sm:inline">
        Last update: {lastUpdate ? new Date(lastUpdate).toLocaleTimeString() : "—"}
      </span>
    </div>
  );
}
