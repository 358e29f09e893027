// The Agents page's API and its React Query key.
import { api } from "../../api/client";
import type { Agent } from "../../api/types";

export const agentKeys = { all: ["agents"] as const };

export const agents = {
  list: (signal?: AbortSignal) => api.get<Agent[]>("/api/agents", signal),
};
