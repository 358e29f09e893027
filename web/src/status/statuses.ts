// Status colours, labels and icons, defined once. Colour is never the only
// signal: every status also has a label and an icon shape. Text colours are
// the 700/800 shades on 50/100 backgrounds (WCAG AA contrast, > 4.5:1).
import type { StatusCode } from "../api/types";

export interface StatusStyle {
  code: StatusCode;
  name: string;
  label: string;
  /** Single-character glyph shown beside the label. */
  icon: string;
  badge: string;
  dot: string;
}

export const STATUSES: readonly StatusStyle[] = [
  { code: 0, name: "OK", label: "OK", icon: "✓", badge: "bg-green-100 text-green-800 ring-green-600/30", dot: "bg-green-600" },
  { code: 1, name: "DEGRADED", label: "Degraded", icon: "!", badge: "bg-amber-100 text-amber-800 ring-amber-600/30", dot: "bg-amber-500" },
  { code: 2, name: "FAILED", label: "Failed", icon: "✕", badge: "bg-red-100 text-red-800 ring-red-600/30", dot: "bg-red-600" },
  { code: 3, name: "STARTING", label: "Starting", icon: "↻", badge: "bg-sky-100 text-sky-800 ring-sky-600/30", dot: "bg-sky-600" },
  { code: 4, name: "STOPPED", label: "Stopped", icon: "■", badge: "bg-slate-200 text-slate-800 ring-slate-600/30", dot: "bg-slate-600" },
  { code: 5, name: "UNKNOWN", label: "Unknown", icon: "?", badge: "bg-violet-100 text-violet-800 ring-violet-600/30", dot: "bg-violet-600" },
];

/** The style of a code; anything out of range is UNKNOWN. */
export function statusStyle(code: number): StatusStyle {
  return STATUSES[code] ?? STATUSES[5];
}

/** Worst first: FAILED, DEGRADED, UNKNOWN, STARTING, STOPPED, OK. */
export const SEVERITY_ORDER: readonly StatusCode[] = [2, 1, 5, 3, 4, 0];
