import { useQueryClient } from "@tanstack/react-query";
import { Suspense, lazy } from "react";
import { NavLink, Route, Routes } from "react-router-dom";
import { AgentsPage } from "./features/agents/AgentsPage";
import { auth, authKeys, type Permission } from "./features/auth/api";
import { SignInPage } from "./features/auth/SignInPage";
import { AuthProvider, authOf, useAuth, useMe } from "./features/auth/useAuth";
import { DashboardPage } from "./features/dashboard/DashboardPage";
import { ConnectionIndicator } from "./features/live/ConnectionIndicator";
import { useLiveStatus } from "./features/live/useLiveStatus";
import { ThemeContext, ThemeToggle, useTheme } from "./ui/theme";
import { OfflineBanner } from "./features/live/OfflineBanner";
import { PushButton } from "./features/push/PushDialog";

// Charts and the map load only when their pages open.
const ServiceDetailPage = lazy(() => import("./features/detail/ServiceDetailPage"));
const AdminServicesPage = lazy(() => import("./features/admin/AdminServicesPage"));
const RelationsPage = lazy(() => import("./features/admin/RelationsPage"));
const MapPage = lazy(() => import("./features/map/MapPage"));
const TransferPage = lazy(() => import("./features/admin/TransferPage"));
const AuditPage = lazy(() => import("./features/audit/AuditPage"));
const TokensPage = lazy(() => import("./features/tokens/TokensPage"));
const AlertsPage = lazy(() => import("./features/alerts/AlertsPage"));
const SearchPage = lazy(() => import("./features/search/SearchPage"));
const AnalyticsPage = lazy(() => import("./features/analytics/AnalyticsPage"));
const AcknowledgePage = lazy(() => import("./features/alerts/AcknowledgePage"));
const loading = <p className="text-slate-600">Loading…</p>;

/** Pages, with the permission each needs. */
const NAV: [string, string, Permission][] = [
  ["/", "Dashboard", "read"],
  ["/map", "Map", "read"],
  ["/agents", "Agents", "read"],
  ["/alerts", "Alerts", "read"],
  ["/search", "Search", "read"],
  ["/analytics", "Analytics", "read"],
  ["/admin/services", "Services", "catalog_read"],
  ["/admin/relations", "Relations", "catalog_read"],
  ["/admin/transfer", "Import/Export", "catalog_read"],
  ["/admin/audit", "Audit", "admin"],
  ["/admin/tokens", "Tokens", "admin"],
];

/** A page loaded on demand. */
const later = (page: React.ReactNode) => <Suspense fallback={loading}>{page}</Suspense>;

const nav = ({ isActive }: { isActive: boolean }) =>
  `rounded-md px-3 py-1.5 text-sm font-medium ${isActive ? "bg-slate-900 text-white" : "text-slate-700 hover:bg-slate-200"}`;

/** Asks who is signed in: the sign-in page, or the dashboard for them. */
export function App() {
  // A notification's one-click link: its signature is the authority.
  if (window.location.pathname === "/alerts/acknowledge") return later(<AcknowledgePage />);
  return <SignedIn />;
}

function SignedIn() {
  const me = useMe();
  if (me.isPending) return loading;
  if (me.error) return <p className="p-6 text-red-700">Cannot reach the collector: {me.error.message}</p>;
  if (!me.data.signed_in) return <SignInPage me={me.data} />;
  return (
    <AuthProvider value={authOf(me.data)}>
      <Shell />
    </AuthProvider>
  );
}

/** Who is signed in, and the way out (with sign-in on). */
function Account() {
  const { me } = useAuth();
  const client = useQueryClient();
  if (me.mode === "none" || !me.identity) return null;
  const signOut = async () => {
    const out = await auth.logout();
    // Signed out at the provider too, on its own page.
    if (out?.redirect) window.location.assign(out.redirect);
    else await client.invalidateQueries({ queryKey: authKeys.me });
  };
  return (
    <div className="flex items-center gap-2 text-sm text-slate-700">
      <span data-testid="signed-in-as">
        {me.identity.name} ({me.identity.role})
      </span>
      <button type="button" className="rounded-md px-2 py-1 text-slate-700 hover:bg-slate-200" onClick={signOut}>
        Sign out
      </button>
    </div>
  );
}

function Shell() {
  const live = useLiveStatus();
  const { can } = useAuth();
  const theme = useTheme();
  return (
    <ThemeContext.Provider value={theme.applied}>
      <div className="mx-auto max-w-7xl p-3 sm:p-6">
        <header className="mb-4 flex flex-wrap items-center justify-between gap-3">
          <div className="flex flex-col items-start gap-2 sm:flex-row sm:items-center sm:gap-4">
            <h1 className="flex items-center gap-2 text-xl font-bold">
              <svg viewBox="0 0 16 16" className="h-5 w-5" aria-hidden="true">
                <circle cx="8" cy="6" r="5" fill="#f59e0b" />
                <rect x="6" y="11" width="4" height="4" fill="#475569" />
              </svg>
              lightbulb
            </h1>
            <nav className="flex flex-wrap gap-1" aria-label="Main">
              {NAV.filter(([, , needs]) => can(needs)).map(([to, name]) => (
                <NavLink key={to} to={to} end={to === "/"} className={nav}>
                  {name}
                </NavLink>
              ))}
            </nav>
          </div>
          <div className="flex items-center gap-3">
            <ConnectionIndicator state={live.connection} transport={live.transport} lastUpdate={live.lastUpdate} />
            <PushButton services={live.query.data ?? []} />
            <ThemeToggle choice={theme.choice} choose={theme.choose} />
            <Account />
          </div>
        </header>
        <OfflineBanner />
        {/* Status changes, announced politely (the list itself updates silently). */}
        <p className="sr-only" role="status" aria-live="polite" data-testid="status-announcer">
          {live.announcements.map((a) => (
            <span key={a.id}>{a.text}. </span>
          ))}
        </p>
        <main>
          <Routes>
            <Route
              path="/"
              element={<DashboardPage services={live.query.data} loading={live.query.isPending} error={live.query.error} />}
            />
            <Route path="/services/:id" element={later(<ServiceDetailPage services={live.query.data} />)} />
            <Route path="/map" element={later(<MapPage services={live.query.data} />)} />
            <Route path="/agents" element={<AgentsPage />} />
            <Route path="/alerts" element={later(<AlertsPage />)} />
            <Route path="/search" element={later(<SearchPage />)} />
            <Route path="/analytics" element={later(<AnalyticsPage />)} />
            <Route path="/admin/services" element={later(<AdminServicesPage />)} />
            <Route path="/admin/relations" element={later(<RelationsPage />)} />
            <Route path="/admin/transfer" element={later(<TransferPage />)} />
            <Route path="/admin/audit" element={later(<AuditPage />)} />
            <Route path="/admin/tokens" element={later(<TokensPage />)} />
            <Route path="*" element={<p className="text-slate-700">This page does not exist.</p>} />
          </Routes>
        </main>
      </div>
    </ThemeContext.Provider>
  );
}
