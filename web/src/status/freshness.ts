// How fresh a status is: "checked 3 s ago", and whether it has gone stale
// (the collector marked it silent, or its grace passed since it was read).
import { useEffect, useState } from "react";
import type { LatestStatus } from "../api/types";

/** The list is re-read every 10 s; a status read just before its grace ends is not stale yet. */
const SLACK_MS = 5_000;

/** "3 s", "2 min", "1 h", "2 d". */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} d`;
}

/** What the row says about the last result, and whether to warn. */
export function freshness(s: LatestStatus, now: number): { text: string; stale: boolean } | null {
  if (!s.last_check) return null;
  const age = span(now - Date.parse(s.last_check));
  if (s.silent) return { text: `silent for ${age}`, stale: true };
  const staleAt = s.stale_at ? Date.parse(s.stale_at) : null;
  return { text: `checked ${age} ago`, stale: staleAt !== null && now > staleAt + SLACK_MS };
}

/** The current time, updated every `everyMs`. */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}
