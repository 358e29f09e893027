import { Suspense, lazy } from "react";
import { NavLink, Route, Routes } from "react-router-dom";
import { AgentsPage } from "./features/agents/AgentsPage";
import { DashboardPage } from "./features/dashboard/DashboardPage";
import { ConnectionIndicator } from "./features/live/ConnectionIndicator";
import { useLiveStatus } from "./features/live/useLiveStatus";

// Charts and the map load only when their pages open.
const ServiceDetailPage = lazy(() => import("./features/detail/ServiceDetailPage"));
const AdminServicesPage = lazy(() => import("./features/admin/AdminServicesPage"));
const RelationsPage = lazy(() => import("./features/admin/RelationsPage"));
const MapPage = lazy(() => import("./features/map/MapPage"));
const TransferPage = lazy(() => import("./features/admin/TransferPage"));
const loading = <p className="text-slate-600">Loading…</p>;

const NAV = [
  ["/", "Dashboard"],
  ["/map", "Map"],
  ["/agents", "Agents"],
  ["/admin/services", "Services"],
  ["/admin/relations", "Relations"],
  ["/admin/transfer", "Import/Export"],
] as const;

/** A page loaded on demand. */
const later = (page: React.ReactNode) => <Suspense fallback={loading}>{page}</Suspense>;

const nav = ({ isActive }: { isActive: boolean }) =>
  `rounded-md px-3 py-1.5 text-sm font-medium ${isActive ? "bg-slate-900 text-white" : "text-slate-700 hover:bg-slate-200"}`;

export function App() {
  const live = useLiveStatus();
  return (
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
            {NAV.map(([to, name]) => (
              <NavLink key={to} to={to} end={to === "/"} className={nav}>
                {name}
              </NavLink>
            ))}
          </nav>
        </div>
        <ConnectionIndicator state={live.connection} lastUpdate={live.lastUpdate} />
      </header>
      <main>
        <Routes>
          <Route
            path="/"
            element={<DashboardPage services={live.query.data} loading={live.query.isPending} error={live.query.error} />}
          />
          <Route path="/services/:id" element={later(<ServiceDetailPage services={live.query.data} />)} />
          <Route path="/map" element={later(<MapPage services={live.query.data} />)} />
          <Route path="/agents" element={<AgentsPage />} />
          <Route path="/admin/services" element={later(<AdminServicesPage />)} />
          <Route path="/admin/relations" element={later(<RelationsPage />)} />
          <Route path="/admin/transfer" element={later(<TransferPage />)} />
          <Route path="*" element={<p className="text-slate-700">This page does not exist.</p>} />
        </Routes>
      </main>
    </div>
  );
}
