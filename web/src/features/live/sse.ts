// The live status stream: Server-Sent Events read with fetch, so a
// reconnect can resume exactly where it left off (Last-Event-ID) after a
// backoff of our choosing, and the UI can tell connected, reconnecting and
// offline apart.
import type { StatusEvent } from "../../api/types";

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "offline";

export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

/** Splits an SSE byte stream (as text) into messages. */
export class SseParser {
  private buffer = "";
  private id: string | null = null;
  private event = "message";
  private data: string[] = [];

  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const out: SseMessage[] = [];
    let nl: number;
    while ((nl = this.buffer.search(/\r\n|\n|\r/)) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + (this.buffer.startsWith("\r\n", nl) ? 2 : 1));
      if (line === "") {
        if (this.data.length > 0) {
          out.push({ id: this.id, event: this.event, data: this.data.join("\n") });
        }
        this.data = [];
        this.event = "message";
        continue;
      }
      if (line.startsWith(":")) continue; // comment (heartbeat)
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") this.data.push(value);
      else if (field === "id") this.id = value;
      else if (field === "event") this.event = value;
    }
    return out;
  }
}

export interface StreamOptions {
  url: string;
  onEvent: (e: StatusEvent) => void;
  /** A service was deleted: drop it (`event: removed`). */
  onRemoved?: (serviceId: string) => void;
  onState: (s: ConnectionState) => void;
  /** First reconnect delay; doubles per failed attempt up to `maxDelayMs`. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Failed attempts in a row after which the state is `offline`. */
  offlineAfter?: number;
  /** Resume after this event id. */
  lastEventId?: string | null;
}

export interface StatusStream {
  close(): void;
  lastEventId(): string | null;
}

export function openStatusStream(opts: StreamOptions): StatusStream {
  const min = opts.minDelayMs ?? 500;
  const max = opts.maxDelayMs ?? 15_000;
  const offlineAfter = opts.offlineAfter ?? 4;
  let lastId = opts.lastEventId ?? null;
  let closed = false;
  const abort = new AbortController();
  let wake: (() => void) | null = null;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  async function once(markConnected: () => void): Promise<void> {
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    if (lastId !== null) headers["Last-Event-ID"] = lastId;
    const r = await fetch(opts.url, { headers, signal: abort.signal, cache: "no-store" });
    if (!r.ok || !r.body) throw new Error(`HTTP ${r.status}`);
    markConnected();
    opts.onState("connected");
    const parser = new SseParser();
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const m of parser.push(value)) {
        if (m.id !== null) lastId = m.id;
        try {
          if (m.event === "removed") opts.onRemoved?.((JSON.parse(m.data) as { service_id: string }).service_id);
          else opts.onEvent(JSON.parse(m.data) as StatusEvent);
        } catch {
          // A malformed message is skipped; the next one still counts.
        }
      }
    }
  }

  void (async () => {
    let failures = 0;
    opts.onState("connecting");
    while (!closed) {
      let connected = false;
      try {
        await once(() => (connected = true));
      } catch {
        // Network error, HTTP error or abort: decided below.
      }
      if (closed) return;
      failures = connected ? 1 : failures + 1;
      opts.onState(failures >= offlineAfter ? "offline" : "reconnecting");
      const delay = Math.min(max, min * 2 ** (failures - 1));
      await sleep(delay * (0.8 + Math.random() * 0.4));
    }
  })();

  return {
    close() {
      closed = true;
      abort.abort();
      wake?.();
    },
    lastEventId: () => lastId,
  };
}
