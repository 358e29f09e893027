// The signed-in caller for every page: `useAuth().can("catalog_write")`
// hides what the caller's role may not do (the API refuses it anyway).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, useContext, useEffect } from "react";
import { UNAUTHENTICATED } from "../../api/client";
import { auth, authKeys, type Me, type Permission } from "./api";

export interface Auth {
  me: Me;
  can: (p: Permission) => boolean;
}

const AuthContext = createContext<Auth | null>(null);

export const AuthProvider = AuthContext.Provider;

/** The caller; only under `AuthProvider` (inside the signed-in app). */
export function useAuth(): Auth {
  const a = useContext(AuthContext);
  if (!a) throw new Error("useAuth outside AuthProvider");
  return a;
}

export function authOf(me: Me): Auth {
  return { me, can: (p) => me.permissions.includes(p) };
}

/** `/api/auth/me`, asked again whenever a call finds the session gone. */
export function useMe() {
  const client = useQueryClient();
  useEffect(() => {
    const again = () => void client.invalidateQueries({ queryKey: authKeys.me });
    window.addEventListener(UNAUTHENTICATED, again);
    return () => window.removeEventListener(UNAUTHENTICATED, again);
  }, [client]);
  return useQuery({ queryKey: authKeys.me, queryFn: ({ signal }) => auth.me(signal), staleTime: 60_000 });
}
