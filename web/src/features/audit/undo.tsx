// Undo on the toast after each change: the API names every change's audit
// entry (`Lightbulb-Audit-Id`); a success toast right after one offers
// Undo, which reverts that entry; the "Undone" toast offers Redo, which
// reverts the revert.
import { useQueryClient } from "@tanstack/react-query";
import { type ReactNode, useCallback, useEffect, useRef } from "react";
import { AUDITED } from "../../api/client";
import { type ToastAction, ToastProvider } from "../../ui/toast";
import { audit } from "./api";

/** How long after a change its toast may offer Undo. */
const FRESH_MS = 3000;

export function UndoToastProvider({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  const last = useRef<{ id: number; at: number } | null>(null);
  useEffect(() => {
    const seen = (e: Event) => {
      last.current = { id: (e as CustomEvent<number>).detail, at: Date.now() };
    };
    window.addEventListener(AUDITED, seen);
    return () => window.removeEventListener(AUDITED, seen);
  }, []);
  const decorate = useCallback(
    (kind: "success" | "error"): ToastAction | undefined => {
      const change = last.current;
      if (kind !== "success" || !change || Date.now() - change.at > FRESH_MS) return undefined;
      last.current = null;
      const revert = (id: number, label: string, done: string): ToastAction => ({
        label,
        run: async () => {
          const r = await audit.revert(id);
          last.current = null;
          await client.invalidateQueries();
          return { text: done, action: r.audit_id != null ? revert(r.audit_id, label === "Undo" ? "Redo" : "Undo", label === "Undo" ? "Redone" : "Undone") : undefined };
        },
      });
      return revert(change.id, "Undo", "Undone");
    },
    [client],
  );
  return <ToastProvider decorate={decorate}>{children}</ToastProvider>;
}
