import { useQuery } from "@tanstack/react-query";
import { agentKeys, agents } from "./api";
import type { AgentSpool } from "../../api/types";

const MB = 1024 * 1024;

/** Waiting results, size on disk, and what a full spool dropped (as of the last heartbeat). */
export function SpoolCell({ spool, connected = true }: { spool?: AgentSpool | null; connected?: boolean }) {
  if (!spool) return <>—</>;
  const age = spool.oldest_age != null && spool.depth > 0 ? `, oldest ${spool.oldest_age} s` : "";
  return (
    <>
      <span>
        {connected ? "" : "at last contact: "}
        {spool.depth.toLocaleString("en")} waiting{age} · {(spool.bytes / MB).toFixed(1)} MB
      </span>
      {spool.dropped_total > 0 && (
        <span
          className={`ml-2 rounded px-1.5 py-0.5 text-xs font-semibold ${spool.dropping ? "bg-amber-200 text-amber-950" : "text-amber-900"}`}
          title={spool.last_drop ? `last dropped ${new Date(spool.last_drop).toLocaleString()}` : undefined}
          data-dropping={spool.dropping}
        >
          {spool.dropping ? "⚠ dropping: " : ""}
          {spool.dropped_total.toLocaleString("en")} dropped
        </span>
      )}
    </>
  );
}

/** The fleet: connection state, version, last seen, assigned checks. */
export function AgentsPage() {
  const q = useQuery({ queryKey: agentKeys.all, queryFn: ({ signal }) => agents.list(signal), refetchInterval: 10_000 });
  if (q.error) return <p className="text-red-800" role="alert">Cannot load agents: {q.error.message}</p>;
  if (!q.data) return <p className="text-slate-600">Loading…</p>;
  if (q.data.length === 0) return <p className="text-slate-600">No agent has registered yet.</p>;
  return (
    <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm">
      <table className="w-full text-left text-sm">
        <thead className="bg-slate-100 text-xs uppercase text-slate-700">
          <tr>
            <th className="px-3 py-2">Agent</th>
            <th className="px-3 py-2">Connection</th>
            <th className="px-3 py-2">Host</th>
            <th className="px-3 py-2">Version</th>
            <th className="px-3 py-2">Last seen</th>
            <th className="px-3 py-2">Checks (local / assigned)</th>
            <th className="px-3 py-2">Behind schedule</th>
            <th className="px-3 py-2">Spool</th>
          </tr>
        </thead>
        <tbody>
          {q.data.map((a) => (
            <tr key={a.agent_id} className="border-t border-slate-200" data-agent={a.agent_id}>
              <td className="px-3 py-2 font-medium">{a.agent_id}</td>
              <td className="px-3 py-2">
                {a.connected ? (a.late_checks.length ? "● connected, not checking everything" : "● connected") : "○ disconnected"}
              </td>
              <td className="px-3 py-2">{a.hostname}</td>
              <td className="px-3 py-2">{a.version}</td>
              <td className="px-3 py-2">{a.last_seen ? new Date(a.last_seen).toLocaleString() : "—"}</td>
              <td className="px-3 py-2">
                {a.local_checks.length} / {a.assigned_checks.length}
              </td>
              <td className="px-3 py-2" data-late={a.late_checks.length}>
                {a.late_checks.length === 0
                  ? a.connected
                    ? "none"
                    : "—"
                  : a.late_checks.map((l) => (
                      <span key={l.service_id} className="mr-2 font-semibold text-amber-800" title={l.reason === "hung" ? "a run has lasted beyond its timeout" : "waiting for a free run slot"}>
                        ⚠ {l.service_id} {Math.round(l.late_ms / 1000)} s late ({l.reason})
                      </span>
                    ))}
              </td>
              <td className="px-3 py-2" data-dropped={a.spool?.dropped_total ?? 0}>
                <SpoolCell spool={a.spool} connected={a.connected} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
