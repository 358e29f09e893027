// API tokens for automation (admins): make one with a scope and a life (its
// value is shown once, here), see when each was last used, revoke one
// (refused from its next request on).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { button, input } from "../../ui/Dialog";
import { useToast } from "../../ui/toast";
import { type NewToken, type TokenRecord, tokenKeys, tokens } from "./api";

const when = (ms?: number | null) => (ms == null ? "never" : new Date(ms).toLocaleString());

function standing(t: TokenRecord): string {
  if (t.revoked_ms != null) return `revoked ${when(t.revoked_ms)}`;
  if (t.expires_ms <= Date.now()) return `expired ${when(t.expires_ms)}`;
  return `until ${when(t.expires_ms)}`;
}

export default function TokensPage() {
  const toast = useToast();
  const client = useQueryClient();
  const [name, setName] = useState("");
  const [scope, setScope] = useState("read");
  const [life, setLife] = useState("90d");
  const [made, setMade] = useState<NewToken | null>(null);
  const list = useQuery({ queryKey: tokenKeys.all, queryFn: ({ signal }) => tokens.list(signal) });
  const create = useMutation({
    mutationFn: () => tokens.create(name, scope, life),
    onSuccess: (t) => {
      setMade(t);
      setName("");
      void client.invalidateQueries({ queryKey: tokenKeys.all });
    },
    onError: (e) => toast("error", e.message),
  });
  const revoke = useMutation({
    mutationFn: (t: TokenRecord) => tokens.revoke(t.token_id),
    onSuccess: (t) => {
      toast("success", `Revoked ${t.name}`);
      void client.invalidateQueries({ queryKey: tokenKeys.all });
    },
    onError: (e) => toast("error", e.message),
  });
  return (
    <section className="flex flex-col gap-4">
      <form
        aria-label="New token"
        className="flex flex-wrap items-end gap-2 rounded-lg border border-slate-200 bg-white p-4 shadow-sm"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <label className="flex flex-col gap-1 text-sm">
          Name
          <input className={input} value={name} onChange={(e) => setName(e.target.value)} required placeholder="ci-deploy" />
        </label>
        <label className="flex flex-col gap-1 text-sm">
          Scope
          <select className={input} value={scope} onChange={(e) => setScope(e.target.value)}>
            <option value="read">read (a viewer's rights)</option>
            <option value="write">write (an editor's)</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <label className="flex flex-col gap-1 text-sm">
          Expires in
          <input className={input} value={life} onChange={(e) => setLife(e.target.value)} required />
        </label>
        <button type="submit" className={button.primary} disabled={create.isPending}>
          Make token
        </button>
      </form>
      {made && (
        <div role="status" className="rounded-lg border border-amber-300 bg-amber-50 p-4 text-sm">
          <p className="font-semibold">Token “{made.record.name}”: copy it now, it is not shown again.</p>
          <code data-testid="new-token" className="mt-2 block break-all rounded bg-white p-2">
            {made.token}
          </code>
        </div>
      )}
      <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm">
        {list.error ? (
          <p className="p-4 text-red-800" role="alert">Cannot load tokens: {list.error.message}</p>
        ) : (
          <table className="w-full text-left text-sm">
            <thead className="bg-slate-100 text-xs uppercase text-slate-700">
              <tr>
                <th className="px-3 py-2">Name</th>
                <th className="px-3 py-2">Scope</th>
                <th className="px-3 py-2">Made by</th>
                <th className="px-3 py-2">Valid</th>
                <th className="px-3 py-2">Last used</th>
                <th className="px-3 py-2" />
              </tr>
            </thead>
            <tbody>
              {(list.data ?? []).map((t) => (
                <tr key={t.token_id} className="border-t border-slate-200" data-token={t.name}>
                  <td className="px-3 py-2 font-medium">{t.name}</td>
                  <td className="px-3 py-2">{t.scope}</td>
                  <td className="px-3 py-2">{t.created_by}</td>
                  <td className="px-3 py-2">{standing(t)}</td>
                  <td className="px-3 py-2">{when(t.last_used_ms)}</td>
                  <td className="px-3 py-2 text-right">
                    {t.revoked_ms == null && (
                      <button type="button" className={button.secondary} onClick={() => revoke.mutate(t)}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}
