// The service map: services coloured by live status, relations as edges,
// root causes (not OK on their own) told apart from services impacted by a
// dependency. Click a service for its details.
import { useQuery } from "@tanstack/react-query";
import { Background, Controls, type Edge, MarkerType, type Node, Position, ReactFlow } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useContext, useMemo, useState } from "react";
import { useNavigate, useSearchParams } from "react-router-dom";
import { graph as graphApi, graphKeys } from "./api";
import type { LatestStatus } from "../../api/types";
import { statusStyle } from "../../status/statuses";
import { NODE_H, NODE_W, layout, visible } from "./layout";
import { alertText, useAlertStates } from "../alerts/alertState";
import { ThemeContext } from "../../ui/theme";

const BORDER: Record<number, string> = { 0: "#16a34a", 1: "#d97706", 2: "#dc2626", 3: "#0284c7", 4: "#475569", 5: "#7c3aed" };

export default function MapPage({ services }: { services: LatestStatus[] | undefined }) {
  const navigate = useNavigate();
  const theme = useContext(ThemeContext);
  // `?focus=<id>` (a saved view's map focus) starts focused on that service.
  const [params] = useSearchParams();
  const [search, setSearch] = useState(params.get("focus") ?? "");
  const graph = useQuery({
    queryKey: graphKeys.all,
    queryFn: ({ signal }) => graphApi.get(signal),
    refetchInterval: 60_000,
  });
  const alerting = useAlertStates();
  const live = useMemo(() => new Map((services ?? []).map((s) => [s.service_id, s])), [services]);
  const shown = useMemo(() => (graph.data ? visible(graph.data.nodes, graph.data.edges, search) : null), [graph.data, search]);
  const positions = useMemo(() => (shown && graph.data ? layout(shown.nodes, graph.data.edges) : null), [shown, graph.data]);

  const { nodes, edges } = useMemo(() => {
    if (!shown || !positions || !graph.data) return { nodes: [] as Node[], edges: [] as Edge[] };
    const ids = new Set(shown.nodes.map((n) => n.service_id));
    const nodes: Node[] = shown.nodes.map((n) => {
      const s = live.get(n.service_id);
      const code = s?.status_code ?? n.status_code;
      // DEGRADED or FAILED: impacted when a dependency is at fault, else the root cause.
      const problem = code === 1 || code === 2;
      const impacted = problem && (s?.caused_by.length ?? 0) > 0;
      const root = problem && !impacted;
      const style = statusStyle(code);
      const alert = alerting?.get(n.service_id);
      return {
        id: n.service_id,
        position: positions.get(n.service_id) ?? { x: 0, y: 0 },
        sourcePosition: Position.Right,
        targetPosition: Position.Left,
        data: {
          label: (
            <div className="text-left" data-map-node={n.service_id} data-status={style.name} data-role={impacted ? "impacted" : root ? "root-cause" : "ok"}>
              <div className="truncate text-xs font-semibold">{n.service_id}</div>
              <div className="text-[11px]">
                <span aria-hidden="true">{style.icon}</span> {style.label}
                {impacted ? " · impacted" : root ? " · root cause" : ""}
              </div>
              {alert && (
                <div className="truncate text-[11px] font-semibold" data-testid="map-alert" data-severity={alert.severity}>
                  <span aria-hidden="true">{alert.acknowledged ? "✓ " : "▲ "}</span>
                  {alertText(alert)}
                </div>
              )}
            </div>
          ),
        },
        style: {
          width: NODE_W,
          height: NODE_H,
          border: `${root ? 3 : 2}px ${impacted ? "dashed" : "solid"} ${BORDER[code] ?? BORDER[5]}`,
          background: "var(--color-white)",
          opacity: n.enabled ? 1 : 0.5,
        },
      };
    });
    const edges: Edge[] = graph.data.edges
      .filter((e) => ids.has(e.source) && ids.has(e.target))
      .map((e) => ({
        id: e.relation_id,
        source: e.source,
        target: e.target,
        label: e.relation_type === "dependency" ? undefined : e.relation_type,
        animated: e.relation_type === "data-flow",
        style: { strokeDasharray: e.relation_type === "communication" ? "4 3" : undefined, opacity: e.enabled ? 1 : 0.4 },
        markerEnd: { type: MarkerType.ArrowClosed },
      }));
    return { nodes, edges };
  }, [shown, positions, graph.data, live, alerting]);

  if (graph.error) return <p className="text-red-800" role="alert">Cannot load the map: {graph.error.message}</p>;
  if (!graph.data) return <p className="text-slate-600">Loading the map…</p>;
  return (
    <section className="space-y-2">
      <div className="flex flex-wrap items-center gap-3 text-sm text-slate-700">
        <input type="search" aria-label="Focus the map on services" placeholder="Focus on a service" value={search} onChange={(e) => setSearch(e.target.value)} className="w-64 rounded-md border border-slate-300 bg-white px-3 py-1.5" />
        <span>Solid thick border: root cause · dashed: impacted by a dependency · arrows point at what a service depends on</span>
        {shown?.cut && <span className="font-medium">Showing {nodes.length} of {graph.data.nodes.length} services (problems and their neighbours; search to focus).</span>}
      </div>
      <div className="h-[calc(100vh-12rem)] min-h-96 rounded-lg border border-slate-200 bg-white" data-testid="service-map">
        <ReactFlow colorMode={theme} nodes={nodes} edges={edges} fitView fitViewOptions={{ maxZoom: 1 }} nodesConnectable={false} onNodeClick={(_, n) => navigate(`/services/${encodeURIComponent(n.id)}`)} proOptions={{ hideAttribution: true }}>
          <Background />
          <Controls />
        </ReactFlow>
      </div>
    </section>
  );
}
