import { describe, expect, it } from "vitest";
import { basicSchema, checkConfig, formatLabels, parseLabels } from "./serviceForm";

describe("service form rules", () => {
  it("accepts a valid service and names the bad field otherwise", () => {
    const ok = basicSchema.safeParse({ service_id: "web-1", label: "Web", service_type: "api_endpoint", labels: "zone=eu" });
    expect(ok.success).toBe(true);
    const bad = basicSchema.safeParse({ service_id: "Web_1", label: "", service_type: "ftp", labels: "zone" });
    expect(bad.success).toBe(false);
    const fields = new Set(bad.error!.issues.map((i) => i.path[0]));
    expect(fields).toEqual(new Set(["service_id", "label", "service_type", "labels"]));
  });

  it("validates the check configuration as JSON with the type's required keys", () => {
    expect(checkConfig("api_endpoint", '{"url": "http://x"}')).toEqual({ config: { url: "http://x" } });
    expect(checkConfig("api_endpoint", "{")).toMatchObject({ error: expect.stringMatching(/^not JSON/) });
    expect(checkConfig("api_endpoint", "[1]")).toEqual({ error: "must be a JSON object of settings" });
    expect(checkConfig("api_endpoint", "{}")).toEqual({ error: "`url` is required for api_endpoint" });
    expect(checkConfig("kubernetes_pod", "{}")).toMatchObject({ error: expect.stringContaining("`selector`, `pod`, `deployment`") });
    expect(checkConfig("application", "")).toEqual({ config: {} });
  });

  it("round-trips labels", () => {
    expect(parseLabels(" zone=eu , team = core")).toEqual({ zone: "eu", team: "core" });
    expect(parseLabels("=x")).toBeNull();
    expect(formatLabels({ zone: "eu", team: "core" })).toBe("zone=eu, team=core");
  });
});
