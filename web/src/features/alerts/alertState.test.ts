import { describe, expect, it } from "vitest";
import type { Alert } from "./api";
import { alertText, byService } from "./alertState";

const alert = (service_id: string, severity: Alert["severity"], over: Partial<Alert> = {}): Alert =>
  ({ alert_id: `${service_id}-${severity}`, rule_id: "r", service_id, severity, state: "firing", acknowledged_by: null, flapping: false, ...over }) as Alert;

describe("alert state by service", () => {
  it("keeps the most severe firing alert, acknowledged only when all are", () => {
    const m = byService([
      alert("db", "warning", { acknowledged_by: "ann" }),
      alert("db", "critical"),
      alert("web", "info", { acknowledged_by: "ann" }),
      alert("old", "critical", { state: "resolved" }),
    ]);
    expect(m.get("db")).toEqual({ severity: "critical", acknowledged: false, flapping: false, count: 2 });
    expect(alertText(m.get("db")!)).toBe("critical alert ×2");
    expect(alertText(m.get("web")!)).toBe("info alert, acknowledged");
    expect(m.has("old")).toBe(false);
  });
});
