// Current status of every service: fetched once, kept current by the live
// stream (a WebSocket, or SSE where WebSockets do not get through), and
// polled as a fallback (every 10 s while the stream is up, every 5 s while
// it is not).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { STATUS_KEY, statuses } from "./api";
import type { LatestStatus, StatusEvent } from "../../api/types";
import type { ConnectionState } from "./sse";
import { type Transport, openLiveStream } from "./websocket";


/** The agent id of the collector's own results (roll-ups, silence and STOPPED marks). */
const COLLECTOR = "lightbulb-collector";

/** `list` with one status change applied; `null` when the service is new. */
export function applyEvent(list: LatestStatus[], e: StatusEvent): LatestStatus[] | null {
  const i = list.findIndex((s) => s.service_id === e.service_id);
  if (i < 0) return null;
  const old = list[i];
  // The collector's own UNKNOWN for a checked service is a silence mark
  // (applications' roll-ups are stored under the same agent id).
  const silent = e.status_code === 5 && e.agent_id === COLLECTOR && old.service_type !== "application";
  // The grace is the same for the newer result: its stale time moves with it.
  const grace = old.stale_at ? Date.parse(old.stale_at) - Date.parse(old.last_check) : null;
  const next = list.slice();
  next[i] = {
    ...old,
    silent,
    stale_at: silent || grace === null ? null : new Date(Date.parse(e.last_check) + grace).toISOString(),
    status_code: e.status_code,
    status: e.status,
    message: e.message,
    last_check: e.last_check,
    response_time_ms: e.response_time_ms,
    agent_id: e.agent_id,
  };
  return next;
}

/** What a screen reader is told of a status change (none when the status stays). */
export function announce(list: LatestStatus[], e: StatusEvent): string | null {
  const old = list.find((s) => s.service_id === e.service_id);
  if (!old || old.status_code === e.status_code) return null;
  const name = old.label || old.service_id;
  return `${name} is now ${e.status} (was ${old.status})${e.message ? `: ${e.message}` : ""}`;
}

/** `list` without a deleted service. */
export function removeService(list: LatestStatus[], serviceId: string): LatestStatus[] {
  return list.filter((s) => s.service_id !== serviceId);
}

export function useLiveStatus() {
  const client = useQueryClient();
  const [connection, setConnection] = useState<ConnectionState>("connecting");
  const [transport, setTransport] = useState<Transport>("websocket");
  const [lastEvent, setLastEvent] = useState<number | null>(null);
  // The last few, so changes close together are all read out.
  const [announcements, setAnnouncements] = useState<{ id: number; text: string }[]>([]);
  const query = useQuery({
    queryKey: STATUS_KEY,
    queryFn: ({ signal }) => statuses.list(signal),
    // Every 10 s at most, so "checked N s ago" stays close to the truth.
    refetchInterval: connection === "connected" ? 10_000 : 5_000,
  });
  useEffect(() => {
    const stream = openLiveStream({
      onState: setConnection,
      onTransport: setTransport,
      onEvent: (e) => {
        const list = client.getQueryData<LatestStatus[]>(STATUS_KEY);
        const said = list ? announce(list, e) : null;
        if (said) setAnnouncements((a) => [...a.slice(-2), { id: e.id, text: said }]);
        const next = list ? applyEvent(list, e) : null;
        if (next) client.setQueryData(STATUS_KEY, next);
        else void client.invalidateQueries({ queryKey: STATUS_KEY });
        setLastEvent(Date.now());
      },
      onRemoved: (id) => {
        const list = client.getQueryData<LatestStatus[]>(STATUS_KEY);
        if (list) client.setQueryData(STATUS_KEY, removeService(list, id));
        setLastEvent(Date.now());
      },
    });
    return () => stream.close();
  }, [client]);
  const lastUpdate = Math.max(lastEvent ?? 0, query.dataUpdatedAt || 0) || null;
  return { query, connection, transport, lastUpdate, announcements };
}
