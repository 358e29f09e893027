// Sign-in: through the OpenID provider (back to the page asked for), and
// the local break-glass admin's form when it is enabled; a refusal from
// the provider comes back as `?sign_in_error=`.
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { button, input } from "../../ui/Dialog";
import { auth, authKeys, type Me } from "./api";

export function SignInPage({ me }: { me: Me }) {
  const client = useQueryClient();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(() => new URLSearchParams(window.location.search).get("sign_in_error"));
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await auth.login(username, password);
      await client.invalidateQueries({ queryKey: authKeys.me });
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="mx-auto mt-16 max-w-sm rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
      <h1 className="mb-4 text-xl font-bold">Sign in to lightbulb</h1>
      {me.sign_in.oidc && (
        <a
          className={`${button.primary} mb-4 block text-center`}
          href={`/api/auth/oidc/login?next=${encodeURIComponent(window.location.pathname)}`}
        >
          Sign in with your organisation
        </a>
      )}
      {error && !me.sign_in.local_admin && (
        <p role="alert" className="text-sm text-red-700">
          {error}
        </p>
      )}
      {me.sign_in.local_admin ? (
        <form onSubmit={submit} className="flex flex-col gap-3" aria-label="Sign in">
          <label className="flex flex-col gap-1 text-sm">
            Username
            <input className={input} autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required />
          </label>
          <label className="flex flex-col gap-1 text-sm">
            Password
            <input className={input} type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
          </label>
          {error && (
            <p role="alert" className="text-sm text-red-700">
              {error}
            </p>
          )}
          <button type="submit" className={button.primary} disabled={busy}>
            Sign in
          </button>
        </form>
      ) : (
        !me.sign_in.oidc && <p className="text-sm text-slate-700">No way to sign in is configured: ask your administrator.</p>
      )}
    </div>
  );
}
