// A modal dialog on the native <dialog> element: focus is trapped, Esc closes.
import { type ReactNode, useEffect, useRef } from "react";

export function Dialog({ title, open, onClose, children }: { title: string; open: boolean; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      onClose={onClose}
      aria-label={title}
      className="m-auto w-full max-w-xl rounded-lg p-0 shadow-xl backdrop:bg-slate-900/40"
    >
      {open && (
        <div className="p-5">
          <div className="mb-4 flex items-center justify-between">
            <h2 className="text-lg font-semibold">{title}</h2>
            <button type="button" onClick={onClose} aria-label="Close" className="rounded px-2 text-xl text-slate-600 hover:bg-slate-100">
              ×
            </button>
          </div>
          {children}
        </div>
      )}
    </dialog>
  );
}

export const button = {
  primary: "rounded-md bg-slate-900 px-3 py-1.5 text-sm font-medium text-white hover:bg-slate-700 disabled:opacity-50",
  secondary: "rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 hover:bg-slate-100 disabled:opacity-50",
  danger: "rounded-md bg-red-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-red-800 disabled:opacity-50",
};

export const input = "w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm";

/** A labelled form field with its error (from the form or the API) under
 *  it, outside the label so the field's name stays its label. */
export function Field({ label, error, children }: { label: string; error?: string; children: ReactNode }) {
  return (
    <div>
      <label className="block text-sm font-medium text-slate-800">
        {label}
        <div className="mt-1">{children}</div>
      </label>
      {error && <p className="mt-1 text-xs font-normal text-red-800" role="alert">{error}</p>}
    </div>
  );
}
