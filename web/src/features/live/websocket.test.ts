// The hybrid live stream's choices, with a stand-in WebSocket class (jsdom
// has none that reaches a server; the browser tests use the real one
// against the collector): it subscribes to everything once open, resumes
// from the last event id after a drop, and falls back to SSE when
// WebSockets never open.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { StatusEvent } from "../../api/types";
import type { ConnectionState } from "./sse";
import { type Transport, openLiveStream } from "./websocket";

class FakeSocket {
  static all: FakeSocket[] = [];
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(public url: string) {
    FakeSocket.all.push(this);
  }
  send(text: string) {
    this.sent.push(text);
  }
  close() {}
}

const real = globalThis.WebSocket;
afterEach(() => {
  globalThis.WebSocket = real;
  FakeSocket.all = [];
  vi.restoreAllMocks();
});

async function until(what: string, cond: () => boolean, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("openLiveStream", () => {
  it("subscribes once open, and resumes after a drop from the last event", async () => {
    globalThis.WebSocket = FakeSocket as unknown as typeof WebSocket;
    const events: StatusEvent[] = [];
    const states: ConnectionState[] = [];
    const transports: Transport[] = [];
    const stream = openLiveStream({ onEvent: (e) => events.push(e), onState: (s) => states.push(s), onTransport: (t) => transports.push(t), minDelayMs: 1 });
    const first = FakeSocket.all[0];
    expect(first.url).toMatch(/^ws:\/\/.+\/api\/status\/websocket$/);
    first.onopen?.();
    expect(JSON.parse(first.sent[0])).toEqual({ type: "subscribe", all: true });
    first.onmessage?.({ data: JSON.stringify({ type: "subscribed", all: true }) });
    first.onmessage?.({ data: JSON.stringify({ type: "status_update", id: 41, service_id: "db", status: "FAILED" }) });
    expect(events.map((e) => e.id)).toEqual([41]);
    expect([states.at(-1), transports.at(-1)]).toEqual(["connected", "websocket"]);
    first.onclose?.();
    expect(states.at(-1)).toBe("reconnecting");
    await until("a second socket", () => FakeSocket.all.length === 2);
    expect(FakeSocket.all[1].url).toMatch(/\?last_event_id=41$/);
    expect(stream.lastEventId()).toBe("41");
    stream.close();
  });

  it("falls back to SSE when WebSockets never open", async () => {
    globalThis.WebSocket = FakeSocket as unknown as typeof WebSocket;
    const fetched: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (url) => {
      fetched.push(String(url));
      return new Response(new ReadableStream({ start() {} }), { headers: { "content-type": "text/event-stream" } });
    });
    const transports: Transport[] = [];
    const states: ConnectionState[] = [];
    const stream = openLiveStream({ onEvent: () => {}, onState: (s) => states.push(s), onTransport: (t) => transports.push(t), minDelayMs: 1 });
    FakeSocket.all[0].onclose?.();
    await until("a second attempt", () => FakeSocket.all.length === 2);
    FakeSocket.all[1].onclose?.();
    await until("the SSE stream", () => fetched.length === 1);
    expect(fetched[0]).toBe("/api/status/stream");
    expect(transports).toEqual(["sse"]);
    await until("connected over SSE", () => states.at(-1) === "connected");
    expect(FakeSocket.all).toHaveLength(2);
    stream.close();
  });
});
