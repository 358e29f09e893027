// API tokens (admins): list, make (shown once), revoke.
import { api, request } from "../../api/client";
import type { components } from "../../api/schema";

type Schemas = components["schemas"];
export type TokenRecord = Schemas["TokenRecord"];
export type NewToken = Schemas["NewToken"];

export const tokenKeys = { all: ["tokens"] as const };

export const tokens = {
  list: (signal?: AbortSignal) => api.get<TokenRecord[]>("/api/tokens", signal),
  create: (name: string, scope: string, expires_in: string) => request<NewToken>("POST", "/api/tokens", { name, scope, expires_in }),
  revoke: (id: string) => request<TokenRecord>("DELETE", `/api/tokens/${encodeURIComponent(id)}`),
};
