// Toasts for the outcome of admin actions: success or failure, with the
// reason, and an optional action (Undo) whose outcome is a toast of its own.
import { createContext, type ReactNode, useCallback, useContext, useState } from "react";

/** A button on a toast; what `run` resolves to is shown next. */
export interface ToastAction {
  label: string;
  run: () => Promise<{ text: string; action?: ToastAction }>;
}

type Kind = "success" | "error";

interface Toast {
  id: number;
  kind: Kind;
  text: string;
  action?: ToastAction;
}

type Push = (kind: Kind, text: string, action?: ToastAction) => void;

const Ctx = createContext<Push>(() => {});

/** `decorate` may give a success toast an action nobody asked for (Undo). */
export function ToastProvider({ children, decorate }: { children: ReactNode; decorate?: (kind: Kind) => ToastAction | undefined }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const push: Push = useCallback(
    (kind, text, action) => {
      const id = Date.now() + Math.random();
      const withAction = action ?? decorate?.(kind);
      setToasts((t) => [...t, { id, kind, text, action: withAction }]);
      setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), kind === "error" ? 8000 : withAction ? 8000 : 4000);
    },
    [decorate],
  );
  const act = (t: Toast) => {
    setToasts((all) => all.filter((x) => x.id !== t.id));
    t.action?.run().then(
      (next) => push("success", next.text, next.action),
      (e: unknown) => push("error", e instanceof Error ? e.message : String(e)),
    );
  };
  return (
    <Ctx.Provider value={push}>
      {children}
      <div className="fixed bottom-4 right-4 z-50 flex w-80 flex-col gap-2" aria-live="polite">
        {toasts.map((t) => (
          <div
            key={t.id}
            role={t.kind === "error" ? "alert" : "status"}
            data-toast={t.kind}
            className={`flex items-center justify-between gap-3 rounded-md px-4 py-3 text-sm shadow-lg ${t.kind === "error" ? "bg-red-800 text-white" : "bg-slate-900 text-white"}`}
          >
            <span>{t.text}</span>
            {t.action && (
              <button type="button" className="rounded px-2 py-0.5 font-semibold underline hover:bg-white/10" onClick={() => act(t)}>
                {t.action.label}
              </button>
            )}
          </div>
        ))}
      </div>
    </Ctx.Provider>
  );
}

export const useToast = () => useContext(Ctx);
