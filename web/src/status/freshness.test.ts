import { describe, expect, it } from "vitest";
import type { LatestStatus } from "../api/types";
import { statusFixture } from "./fixture";
import { freshness, span } from "./freshness";

const base: LatestStatus = { ...statusFixture, label: "", stale_at: "2026-01-01T00:00:15.000Z" };
const at = (s: number) => Date.parse("2026-01-01T00:00:00.000Z") + s * 1000;

describe("freshness", () => {
  it("says how long ago the last result came and warns once its grace has passed", () => {
    expect(freshness(base, at(3))).toEqual({ text: "checked 3 s ago", stale: false });
    expect(freshness(base, at(16))?.stale).toBe(false);
    expect(freshness(base, at(30))).toEqual({ text: "checked 30 s ago", stale: true });
  });

  it("warns at once for a service the collector marked silent", () => {
    expect(freshness({ ...base, status_code: 5, silent: true, stale_at: null }, at(130))).toEqual({
      text: "silent for 2 min",
      stale: true,
    });
  });

  it("says nothing before a first result", () => {
    expect(freshness({ ...base, last_check: "" }, at(1))).toBeNull();
  });

  it("reads spans in the largest unit", () => {
    expect(span(59_000)).toBe("59 s");
    expect(span(7_200_000)).toBe("2 h");
    expect(span(3 * 86_400_000)).toBe("3 d");
  });
});
