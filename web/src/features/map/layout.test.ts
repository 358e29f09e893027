import { describe, expect, it } from "vitest";
import { type GraphEdge, type GraphNode, MAX_NODES, layout, visible } from "./layout";

const node = (id: string, code = 0): GraphNode => ({ service_id: id, label: id, service_type: "api_endpoint", status_code: code, enabled: true });
const edge = (s: string, t: string): GraphEdge => ({ relation_id: `${s}-${t}`, source: s, target: t, relation_type: "dependency", enabled: true });

describe("map layout", () => {
  it("lays dependencies out left to right", () => {
    const pos = layout([node("web"), node("api"), node("db")], [edge("web", "api"), edge("api", "db")]);
    expect(pos.get("web")!.x).toBeLessThan(pos.get("api")!.x);
    expect(pos.get("api")!.x).toBeLessThan(pos.get("db")!.x);
  });

  it("cuts a large graph to the problems and their neighbours", () => {
    const nodes = Array.from({ length: MAX_NODES + 50 }, (_, i) => node(`s${i}`));
    nodes[7] = node("s7", 2);
    const { nodes: shown, cut } = visible(nodes, [edge("s6", "s7"), edge("s7", "s8"), edge("s1", "s2")], "");
    expect(cut).toBe(true);
    expect(shown.map((n) => n.service_id).sort()).toEqual(["s6", "s7", "s8"]);
    expect(visible(nodes, [], "s1").nodes.length).toBeGreaterThan(1);
  });
});
