// Which part of the graph to draw and where: dagre lays out left to right.
// Large catalogs are cut to the services that are not OK and their direct
// neighbours (or a searched service and its neighbours), so the map stays
// fast at 10,000 services.
import dagre from "@dagrejs/dagre";

export interface GraphNode {
  service_id: string;
  label: string;
  service_type: string;
  status_code: number;
  enabled: boolean;
}

export interface GraphEdge {
  relation_id: string;
  source: string;
  target: string;
  relation_type: string;
  enabled: boolean;
}

export const MAX_NODES = 300;
export const NODE_W = 190;
export const NODE_H = 66;

/** The nodes to draw: all when few, else the focus set and its neighbours. */
export function visible(nodes: GraphNode[], edges: GraphEdge[], search: string): { nodes: GraphNode[]; cut: boolean } {
  if (nodes.length <= MAX_NODES && !search) return { nodes, cut: false };
  const text = search.trim().toLowerCase();
  const focus = new Set(
    nodes.filter((n) => (text ? n.service_id.toLowerCase().includes(text) : n.status_code !== 0)).map((n) => n.service_id),
  );
  const keep = new Set(focus);
  for (const e of edges) {
    if (focus.has(e.source)) keep.add(e.target);
    if (focus.has(e.target)) keep.add(e.source);
  }
  return { nodes: nodes.filter((n) => keep.has(n.service_id)).slice(0, MAX_NODES), cut: true };
}

/** Positions (top-left corners) for `nodes`, edges between them only. */
export function layout(nodes: GraphNode[], edges: GraphEdge[]): Map<string, { x: number; y: number }> {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 24, ranksep: 70 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(nodes.map((n) => n.service_id));
  for (const n of nodes) g.setNode(n.service_id, { width: NODE_W, height: NODE_H });
  for (const e of edges) if (ids.has(e.source) && ids.has(e.target)) g.setEdge(e.source, e.target);
  dagre.layout(g);
  const out = new Map<string, { x: number; y: number }>();
  for (const id of g.nodes()) {
    const p = g.node(id);
    out.set(id, { x: p.x - NODE_W / 2, y: p.y - NODE_H / 2 });
  }
  return out;
}
