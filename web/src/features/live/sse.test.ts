// @vitest-environment node
// The stream client against a real HTTP server (Node's), which drops the
// connection mid-stream and checks where the client resumes.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { StatusEvent } from "../../api/types";
import { type ConnectionState, SseParser, openStatusStream } from "./sse";

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function listen(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/s`)),
  );
}

const event = (id: number) =>
  `id: ${id}\ndata: ${JSON.stringify({ id, service_id: `svc-${id}`, status_code: 2, status: "FAILED" })}\n\n`;

async function until(what: string, cond: () => boolean, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("SseParser", () => {
  it("joins data lines, keeps ids, skips comments, survives split chunks", () => {
    const p = new SseParser();
    expect(p.push(": heartbeat\n\nid: 7\nda")).toEqual([]);
    expect(p.push("ta: a\ndata: b\r\n\n")).toEqual([{ id: "7", event: "message", data: "a\nb" }]);
  });
});

describe("openStatusStream", () => {
  it("reconnects after a dropped connection and resumes with Last-Event-ID", async () => {
    const seenIds: (string | undefined)[] = [];
    const url = await listen((req, res) => {
      seenIds.push(req.headers["last-event-id"] as string | undefined);
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      if (seenIds.length === 1) {
        res.write(event(1));
        res.write(event(2));
        setTimeout(() => res.destroy(), 50);
      } else {
        res.write(event(3));
      }
    });
    const events: StatusEvent[] = [];
    const states: ConnectionState[] = [];
    const stream = openStatusStream({
      url,
      minDelayMs: 20,
      onEvent: (e) => events.push(e),
      onState: (s) => states.push(s),
    });
    try {
      await until("three events", () => events.length === 3);
      expect(events.map((e) => e.id)).toEqual([1, 2, 3]);
      expect(seenIds).toEqual([undefined, "2"]);
      expect(stream.lastEventId()).toBe("3");
      expect(states).toEqual(["connecting", "connected", "reconnecting", "connected"]);
    } finally {
      stream.close();
    }
  });

  it("goes offline after failed attempts and recovers when the server answers", async () => {
    let up = false;
    const url = await listen((_req, res) => {
      if (!up) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      res.write(event(9));
    });
    const states: ConnectionState[] = [];
    const events: StatusEvent[] = [];
    const stream = openStatusStream({
      url,
      minDelayMs: 10,
      maxDelayMs: 40,
      offlineAfter: 3,
      onEvent: (e) => events.push(e),
      onState: (s) => states.push(s),
    });
    try {
      await until("offline", () => states.includes("offline"));
      expect(states.slice(0, 3)).toEqual(["connecting", "reconnecting", "reconnecting"]);
      up = true;
      await until("the event after recovery", () => events.length === 1);
      expect(states.at(-1)).toBe("connected");
    } finally {
      stream.close();
    }
  });
});
