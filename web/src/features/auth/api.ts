// Who is signed in, signing in as the local admin, and signing out.
import { api, request } from "../../api/client";
import type { components } from "../../api/schema";

type Schemas = components["schemas"];
export type Permission = Schemas["Permission"];
export type Identity = Schemas["Identity"];
/** Sign-out's answer when the provider signs out too: where to go. */
export type SignedOut = Schemas["SignedOut"];
/** `/api/auth/me`, with the mode narrowed to what the API sends. */
export type Me = Omit<Schemas["Me"], "mode"> & { mode: "none" | "oidc" };

export const authKeys = { me: ["auth", "me"] as const };

export const auth = {
  me: (signal?: AbortSignal) => api.get<Me>("/api/auth/me", signal),
  login: (username: string, password: string) => request<Identity>("POST", "/api/auth/login", { username, password }),
  logout: () => request<SignedOut | undefined>("POST", "/api/auth/logout"),
};
