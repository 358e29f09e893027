// The catalog file's standing on the Services page, when one is configured:
// when it was last applied, why the file on disk is not (it is invalid),
// and what applying it now would change. Read-only: the file is changed
// where it lives, and applied on SIGHUP or when it changes.
import { useQuery } from "@tanstack/react-query";
import { request } from "../../api/client";
import type { components } from "../../api/schema";

type FileState = components["schemas"]["FileState"];

export function CatalogFilePanel() {
  const standing = useQuery({
    queryKey: ["admin", "catalog-file"],
    // 204 (undefined here) when no catalog file is configured: nothing to show.
    queryFn: async () => (await request<FileState | undefined>("GET", "/api/admin/catalog-file")) ?? null,
    refetchInterval: 10_000,
  });
  const s = standing.data;
  if (!s) return null;
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-4 text-sm shadow-sm" data-testid="catalog-file">
      <h2 className="font-semibold">
        Catalog file <code className="font-normal">{s.file}</code>
        {s.environment && <span className="font-normal"> (environment <code>{s.environment}</code>)</span>}
      </h2>
      <p className="text-slate-700">
        Services and relations it declares are managed by it ({s.owner}) and read-only here.
        {s.last_applied ? ` Last applied ${new Date(s.last_applied).toLocaleString()}.` : " Not applied yet."}
      </p>
      {s.last_error && (
        <p className="mt-2 whitespace-pre-wrap rounded-md bg-red-50 p-2 text-red-900" role="alert" data-testid="catalog-file-error">
          The file on disk is not applied: {s.last_error}
        </p>
      )}
      {s.last_error ? null : s.drift.length === 0 ? (
        <p className="mt-2 text-green-800" data-testid="catalog-file-drift">In sync: applying the file now changes nothing.</p>
      ) : (
        <div className="mt-2" data-testid="catalog-file-drift">
          <p className="text-amber-900">Applying the file now would:</p>
          <ul className="list-inside list-disc">
            {s.drift.map((d) => (
              <li key={d}>{d}</li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
