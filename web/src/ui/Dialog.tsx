// A modal dialog on the native <dialog> element: focus is trapped, Esc
// closes, and focus goes back to where it was (the button that opened it)
// when it closes or is removed.
import { type KeyboardEvent, type ReactNode, useEffect, useRef } from "react";

export function Dialog({ title, open, onClose, children }: { title: string; open: boolean; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const isOpen = useRef(open);
  isOpen.current = open;
  // Read while rendering: by the first effect, autoFocus or showModal has
  // already moved focus into the dialog.
  const opener = useRef<HTMLElement | null>(null);
  if (open && !opener.current && document.activeElement instanceof HTMLElement) opener.current = document.activeElement;
  useEffect(() => {
    if (!open) return;
    return () => {
      const back = opener.current;
      opener.current = null;
      if (back?.isConnected) back.focus();
    };
  }, [open]);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      d.showModal();
      // Into the first field, rather than the Close button showModal picks.
      d.querySelector<HTMLElement>("input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled])")?.focus();
    }
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      // Esc asks the owner to close, so the element closes only when its
      // state does: closed behind React's back, an Enter on the opener in
      // between would re-open nothing (the state was still open).
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      // Where the browser closes it anyway (a cancel it would not let be
      // prevented), the owner still hears of it; not for our own close().
      onClose={() => isOpen.current && onClose()}
      onKeyDown={(e) => e.key === "Tab" && ref.current && wrapTab(ref.current, e)}
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

const FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

/** Tab from the last control goes to the first, Shift+Tab from the first to
 *  the last: focus never leaves an open dialog (not even for the browser's
 *  own controls). */
function wrapTab(d: HTMLDialogElement, e: KeyboardEvent<HTMLDialogElement>) {
  const all = [...d.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null);
  if (all.length === 0) return;
  const [first, last] = [all[0], all[all.length - 1]];
  if (e.shiftKey && document.activeElement === first) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && document.activeElement === last) {
    e.preventDefault();
    first.focus();
  }
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
