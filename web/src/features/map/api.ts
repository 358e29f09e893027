// The map's API: the service graph, and its React Query key.
import { api } from "../../api/client";
import type { GraphEdge, GraphNode } from "./layout";

export const graphKeys = { all: ["graph"] as const };

export const graph = {
  get: (signal?: AbortSignal) => api.get<{ nodes: GraphNode[]; edges: GraphEdge[] }>("/api/graph", signal),
};
