import { statusStyle } from "./statuses";

/** A status as colour + icon + label, readable without colour. */
export function StatusBadge({ code }: { code: number }) {
  const s = statusStyle(code);
  return (
    <span
      className={`inline-flex items-center gap-1 rounded-md px-2 py-0.5 text-xs font-semibold ring-1 ring-inset ${s.badge}`}
      data-status={s.name}
      title={s.name}
    >
      <span aria-hidden="true">{s.icon}</span>
      {s.label}
    </span>
  );
}
