import { describe, expect, it } from "vitest";
import type { LatestStatus, StatusEvent } from "../../api/types";
import { statusFixture } from "../status/fixture";
import { applyEvent, removeService } from "./useLiveStatus";

const base: LatestStatus = statusFixture;

describe("applyEvent", () => {
  it("replaces the changed service's status and keeps the rest", () => {
    const other = { ...base, service_id: "db" };
    const e: StatusEvent = {
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
    const list = [base, other];
    const next = applyEvent(list, e)!;
    expect(next[0]).toMatchObject({ status_code: 2, status: "FAILED", message: "connection refused" });
    expect(next[1]).toBe(other);
    expect(list[0].status_code).toBe(0);
    expect(applyEvent(list, { ...e, service_id: "new" })).toBeNull();
  });
});

describe("removeService", () => {
  it("drops a deleted service and keeps the rest", () => {
    const other = { ...base, service_id: "db" };
    expect(removeService([base, other], "web")).toEqual([other]);
    expect(removeService([other], "web")).toEqual([other]);
  });
});
