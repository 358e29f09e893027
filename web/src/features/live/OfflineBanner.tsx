// While the collector cannot be reached, the service worker serves the
// statuses last known (public/sw.js); this says so, with their age, so
// nobody takes them for current.
import { useEffect, useState, useSyncExternalStore } from "react";
import { offline } from "../../api/client";

export function OfflineBanner() {
  const savedAt = useSyncExternalStore(offline.subscribe, offline.savedAt);
  const [, tick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => tick((n) => n + 1), 10_000);
    return () => clearInterval(t);
  }, []);
  if (savedAt === null) return null;
  const at = new Date(savedAt);
  const age = Math.max(0, Math.round((Date.now() - at.getTime()) / 60_000));
  return (
    <p className="mb-3 rounded-md border border-amber-300 bg-amber-50 p-2 text-sm text-amber-900" role="status" data-testid="offline-banner">
      Offline: the collector cannot be reached. Showing the statuses last known at {at.toLocaleTimeString()} (
      {age === 0 ? "less than a minute" : `${age} min`} ago); they may be stale.
    </p>
  );
}
