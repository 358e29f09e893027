// Import and export of the catalog: JSON (services and relations) or CSV
// (one kind per file). A dry run reports what an import would do, or every
// problem, without changing anything.
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { button, input } from "../../ui/Dialog";
import { useToast } from "../../ui/toast";

interface Problem {
  item: string;
  field: string | null;
  message: string;
}

interface Report {
  dryRun: boolean;
  ok: boolean;
  created?: number;
  updated?: number;
  message?: string;
  problems: Problem[];
}

const FORMATS = {
  json: { path: "/api/admin/import", type: "application/json", label: "JSON (services and relations)" },
  services: { path: "/api/admin/import/services.csv", type: "text/csv", label: "CSV: services" },
  relations: { path: "/api/admin/import/relations.csv", type: "text/csv", label: "CSV: relations" },
} as const;

export default function TransferPage() {
  const toast = useToast();
  const client = useQueryClient();
  const [format, setFormat] = useState<keyof typeof FORMATS>("json");
  const [text, setText] = useState("");
  const [report, setReport] = useState<Report | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (dryRun: boolean) => {
    setBusy(true);
    try {
      const f = FORMATS[format];
      const r = await fetch(`${f.path}${dryRun ? "?dry_run=true" : ""}`, { method: "POST", headers: { "Content-Type": f.type }, body: text });
      const body = await r.json().catch(() => ({}));
      const rep: Report = r.ok
        ? { dryRun, ok: true, created: body.created, updated: body.updated, problems: body.problems ?? [] }
        : { dryRun, ok: false, message: body.error?.message ?? `HTTP ${r.status}`, problems: body.problems ?? [] };
      setReport(rep);
      if (!dryRun && rep.ok) {
        toast("success", `Imported: ${rep.created} created, ${rep.updated} updated`);
        void client.invalidateQueries();
      } else if (!rep.ok) {
        toast("error", rep.message ?? "import refused");
      }
    } catch (e) {
      toast("error", (e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="grid gap-4 lg:grid-cols-3">
      <div className="space-y-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm lg:col-span-2">
        <h2 className="font-semibold">Import</h2>
        <select aria-label="Import format" className={`${input} max-w-xs`} value={format} onChange={(e) => setFormat(e.target.value as keyof typeof FORMATS)}>
          {Object.entries(FORMATS).map(([k, f]) => <option key={k} value={k}>{f.label}</option>)}
        </select>
        <input
          type="file"
          aria-label="Import file"
          accept=".json,.csv,application/json,text/csv"
          className="block text-sm"
          onChange={async (e) => {
            const file = e.target.files?.[0];
            if (file) setText(await file.text());
          }}
        />
        <textarea aria-label="Import document" rows={12} spellCheck={false} className={`${input} font-mono`} value={text} onChange={(e) => setText(e.target.value)} placeholder={format === "json" ? '{"services": [...], "relations": [...]}' : "service_id,label,service_type,enabled,labels,status_config,metric_config"} />
        <div className="flex gap-2">
          <button type="button" className={button.secondary} disabled={busy || !text} onClick={() => run(true)}>Dry run</button>
          <button type="button" className={button.primary} disabled={busy || !text} onClick={() => run(false)}>Import</button>
        </div>
        {report && (
          <div className={`rounded-md p-3 text-sm ${report.ok ? "bg-green-50 text-green-900" : "bg-red-50 text-red-900"}`} data-testid="import-report" role={report.ok ? "status" : "alert"}>
            {report.ok ? (
              <p>{report.dryRun ? "Dry run: would create" : "Created"} {report.created}, {report.dryRun ? "would update" : "updated"} {report.updated}. {report.dryRun ? "Nothing was changed." : ""}</p>
            ) : (
              <p>Refused, nothing imported: {report.message}</p>
            )}
            {report.problems.length > 0 && (
              <ul className="mt-2 list-disc pl-5">
                {report.problems.map((p, i) => <li key={i}>{p.item}{p.field ? ` · ${p.field}` : ""}: {p.message}</li>)}
              </ul>
            )}
          </div>
        )}
      </div>
      <div className="space-y-2 rounded-lg border border-slate-200 bg-white p-4 text-sm shadow-sm">
        <h2 className="font-semibold">Export</h2>
        <p className="text-slate-700">The whole catalog; an export imports back unchanged.</p>
        <ul className="space-y-1">
          <li><a className="underline" href="/api/admin/export" download="lightbulb-catalog.json">JSON: services and relations</a></li>
          <li><a className="underline" href="/api/admin/export/services.csv" download="services.csv">CSV: services</a></li>
          <li><a className="underline" href="/api/admin/export/relations.csv" download="relations.csv">CSV: relations</a></li>
          <li><a className="underline" href="/api/admin/export?format=toml" download="services.toml">TOML: catalog file</a></li>
        </ul>
      </div>
    </section>
  );
}
