import type { ConnectionState } from "./sse";
import type { Transport } from "./websocket";

const LOOK: Record<ConnectionState, { label: string; dot: string }> = {
  connecting: { label: "Connecting", dot: "bg-sky-500" },
  connected: { label: "Live", dot: "bg-green-600" },
  reconnecting: { label: "Reconnecting", dot: "bg-amber-500" },
  offline: { label: "Offline", dot: "bg-red-600" },
};

const OVER: Record<Transport, string> = { websocket: "WebSocket", sse: "SSE" };

/** Connection state of the live stream, how it is carried, and when data
 *  last changed. Without a stream the list is polled. */
export function ConnectionIndicator({ state, transport, lastUpdate }: { state: ConnectionState; transport: Transport; lastUpdate: number | null }) {
  const look = LOOK[state];
  const how = state === "connected" ? `over ${OVER[transport]}` : "polling every 5 s";
  return (
    <div className="flex items-center gap-3 text-sm text-slate-700" role="status" aria-live="polite">
      <span className="flex items-center gap-1.5" data-connection={state} data-transport={state === "connected" ? transport : "polling"} title={`Live statuses ${how}`}>
        <span className={`h-2.5 w-2.5 rounded-full ${look.dot}`} aria-hidden="true" />
        {look.label}
        <span className="text-xs text-slate-600">({state === "connected" ? OVER[transport] : "polling"})</span>
      </span>
      <span className="hidden sm:inline">
        Last update: {lastUpdate ? new Date(lastUpdate).toLocaleTimeString() : "—"}
      </span>
    </div>
  );
}
