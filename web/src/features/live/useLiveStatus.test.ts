import { describe, expect, it } from "vitest";
import type { LatestStatus, StatusEvent } from "../../api/types";
import { statusFixture } from "../../status/fixture";
import { announce, applyEvent, removeService } from "./useLiveStatus";

const base: LatestStatus = statusFixture;

/** `web` turning FAILED. */
const failed: StatusEvent = {
  id: 5,
  service_id: "web",
  status_code: 2,
  status: "FAILED",
  previous_status_code: 0,
  message: "connection refused",
  last_check: "2026-01-01T00:00:05.000Z",
  response_time_ms: null,
  agent_id: "a",
};

describe("applyEvent", () => {
  it("replaces the changed service's status and keeps the rest", () => {
    const other = { ...base, service_id: "db" };
    const e = failed;
    const list = [base, other];
    const next = applyEvent(list, e)!;
    expect(next[0]).toMatchObject({ status_code: 2, status: "FAILED", message: "connection refused" });
    expect(next[1]).toBe(other);
    expect(list[0].status_code).toBe(0);
    expect(applyEvent(list, { ...e, service_id: "new" })).toBeNull();
  });
});

describe("applyEvent and staleness", () => {
  const event = (over: Partial<StatusEvent>): StatusEvent => ({
    id: 9,
    service_id: "web",
    status_code: 0,
    status: "OK",
    previous_status_code: 0,
    message: "ok",
    last_check: "2026-01-01T00:01:00.000Z",
    response_time_ms: null,
    agent_id: "a",
    ...over,
  });
  const fresh = { ...base, stale_at: "2026-01-01T00:00:15.000Z" };

  it("moves the stale time with a newer result, by the same grace", () => {
    const [web] = applyEvent([fresh], event({ status_code: 2, status: "FAILED" }))!;
    expect(web.stale_at).toBe("2026-01-01T00:01:15.000Z");
    expect(web.silent).toBe(false);
  });

  it("marks the collector's UNKNOWN for a checked service silent, not an application's", () => {
    const mark = event({ status_code: 5, status: "UNKNOWN", agent_id: "lightbulb-collector" });
    const [web] = applyEvent([fresh], mark)!;
    expect([web.silent, web.stale_at]).toEqual([true, null]);
    const app = { ...fresh, service_type: "application", stale_at: null };
    const [shop] = applyEvent([app], mark)!;
    expect(shop.silent).toBe(false);
  });
});

describe("removeService", () => {
  it("drops a deleted service and keeps the rest", () => {
    const other = { ...base, service_id: "db" };
    expect(removeService([base, other], "web")).toEqual([other]);
    expect(removeService([other], "web")).toEqual([other]);
  });
});

describe("announce", () => {
  const e = failed;
  it("tells a change of status by name, and stays quiet otherwise", () => {
    const web = { ...base, service_id: "web", label: "Web front end", status_code: 0 as const, status: "OK" };
    expect(announce([web], e)).toBe("Web front end is now FAILED (was OK): connection refused");
    expect(announce([{ ...web, status_code: 2 as const, status: "FAILED" }], e)).toBeNull();
    expect(announce([web], { ...e, service_id: "db" })).toBeNull();
  });
});
