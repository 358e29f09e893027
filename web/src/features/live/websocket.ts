// The live status over a WebSocket, and the hybrid the dashboard uses:
// WebSocket first (subscribed to every service, resumed after a drop from
// the last event id); the SSE stream when a WebSocket cannot be opened here
// (a proxy that does not pass them); and the status list polled whenever
// neither is connected (`useLiveStatus`). A page that fell back to SSE
// stays on it until reloaded.
import type { StatusEvent } from "../../api/types";
import { type StatusStream, type StreamOptions, openStatusStream } from "./sse";

export type Transport = "websocket" | "sse";

export interface LiveOptions extends Omit<StreamOptions, "url"> {
  onTransport: (t: Transport) => void;
  wsUrl?: string;
  sseUrl?: string;
  /** WebSocket attempts in a row that never opened before SSE takes over. */
  fallbackAfter?: number;
}

export function openLiveStream(opts: LiveOptions): StatusStream {
  const min = opts.minDelayMs ?? 500;
  const max = opts.maxDelayMs ?? 15_000;
  const offlineAfter = opts.offlineAfter ?? 4;
  const fallbackAfter = opts.fallbackAfter ?? 2;
  let lastId = opts.lastEventId ?? null;
  let closed = false;
  let ws: WebSocket | null = null;
  let sse: StatusStream | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let neverOpened = 0;

  const url = () => {
    const u = new URL(opts.wsUrl ?? "/api/status/websocket", window.location.href);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    if (lastId !== null) u.searchParams.set("last_event_id", lastId);
    return u.href;
  };

  const toSse = () => {
    opts.onTransport("sse");
    sse = openStatusStream({ ...opts, url: opts.sseUrl ?? "/api/status/stream", lastEventId: lastId });
  };

  const connect = () => {
    if (closed) return;
    let opened = false;
    const socket = new WebSocket(url());
    ws = socket;
    socket.onopen = () => {
      opened = true;
      failures = 0;
      neverOpened = 0;
      socket.send(JSON.stringify({ type: "subscribe", all: true }));
      opts.onTransport("websocket");
      opts.onState("connected");
    };
    socket.onmessage = (m) => {
      try {
        const d = JSON.parse(String(m.data)) as { type: string; id?: number; service_id?: string };
        if (d.type === "status_update") {
          lastId = String(d.id);
          opts.onEvent(d as unknown as StatusEvent);
        } else if (d.type === "removed" && d.service_id) {
          opts.onRemoved?.(d.service_id);
        }
      } catch {
        // A malformed message is skipped; the next one still counts.
      }
    };
    socket.onclose = () => {
      if (closed || ws !== socket) return;
      ws = null;
      if (!opened && ++neverOpened >= fallbackAfter) return toSse();
      failures = opened ? 1 : failures + 1;
      opts.onState(failures >= offlineAfter ? "offline" : "reconnecting");
      const delay = Math.min(max, min * 2 ** (failures - 1));
      timer = setTimeout(connect, delay * (0.8 + Math.random() * 0.4));
    };
  };

  opts.onState("connecting");
  if (typeof WebSocket === "undefined") toSse();
  else connect();

  return {
    close() {
      closed = true;
      clearTimeout(timer);
      ws?.close(1000);
      sse?.close();
    },
    lastEventId: () => sse?.lastEventId() ?? lastId,
  };
}
