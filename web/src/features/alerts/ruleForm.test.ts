import { describe, expect, it } from "vitest";
import { blankRule, duration, fromRule, offeredThreshold, toBody, type Rule } from "./ruleForm";

const stored: Rule = {
  rule_id: "slow",
  name: "Slow API",
  severity: "critical",
  enabled: true,
  condition: { kind: "metric", metric: "response_time_ms", aggregate: "p95", below: false, threshold: 500, window_ms: 300_000 },
  scope: { services: ["api", "web"], service_types: [], labels: { team: "core" } },
  for_ms: 120_000,
  channels: ["hook"],
  updated_ms: 0,
  resolve_after_ms: 60_000,
  escalation: [{ after_ms: 600_000, channels: ["pager", "mail"] }],
  repeat_ms: 3_600_000,
  flap_limit: 4,
  flap_window_ms: 900_000,
};

describe("rule form", () => {
  it("writes durations the way the API reads them", () => {
    expect(duration(300_000)).toBe("5m");
    expect(duration(90_000)).toBe("90s");
    expect(duration(0)).toBe("0s");
    expect(duration(1500)).toBe("1500ms");
  });

  it("round-trips a stored rule into the body that would store it again", () => {
    expect(toBody(fromRule(stored))).toEqual({
      rule_id: "slow",
      name: "Slow API",
      severity: "critical",
      enabled: true,
      condition: { kind: "metric", metric: "response_time_ms", aggregate: "p95", above: 500, window: "5m" },
      scope: { services: ["api", "web"], service_types: [], labels: { team: "core" } },
      for: "2m",
      channels: ["hook"],
      flap_limit: 4,
      flap_window: "15m",
      resolve_after: "1m",
      escalation: [{ after: "10m", channels: ["pager", "mail"] }],
      repeat: "1h",
    });
  });

  it("leaves what is not a number as typed, for the API to name", () => {
    const f = { ...blankRule(), rule_id: "c", kind: "cert_expiry" as const, days: "two weeks" };
    expect(toBody(f).condition).toEqual({ kind: "cert_expiry", days: "two weeks" });
    const e = { ...blankRule(), rule_id: "e", kind: "metric" as const, metric: "error_rate", side: "above" as const, threshold: "5" };
    expect(toBody(e).condition).toEqual({ kind: "metric", metric: "error_rate", above: 5, window: "5m" });
  });

  it("round-trips an anomaly condition", () => {
    const rule: Rule = { ...stored, condition: { kind: "anomaly", metrics: ["error_rate"], min_score: 6 } };
    expect(toBody(fromRule(rule)).condition).toEqual({ kind: "anomaly", metrics: ["error_rate"], min_score: 6 });
  });

  it("offers a service's own degraded level as the threshold", () => {
    expect(offeredThreshold({ response_time_ms: { degraded: 400, failed: 900 } }, "response_time_ms")).toBe("400");
    expect(offeredThreshold({ cpu_usage: { failed: 95 } }, "cpu_usage")).toBe("95");
    expect(offeredThreshold(null, "cpu_usage")).toBeUndefined();
    expect(offeredThreshold({ window: "5m" }, "window")).toBeUndefined();
  });
});
