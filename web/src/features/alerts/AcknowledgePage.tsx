// The page a notification's one-click link opens: it names the alert and
// acknowledges it when asked. The link's signature is the authority, so it
// works without signing in.
import { useMutation } from "@tanstack/react-query";
import { button } from "../../ui/Dialog";
import { alerts } from "./api";

export default function AcknowledgePage() {
  const q = new URLSearchParams(window.location.search);
  const alert = q.get("alert") ?? "";
  const expires = Number(q.get("expires") ?? 0);
  const signature = q.get("signature") ?? "";
  const ack = useMutation({ mutationFn: () => alerts.acknowledgeByLink(alert, expires, signature) });
  const [rule, service] = alert.split(":");
  return (
    <main className="mx-auto mt-16 max-w-lg rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
      <h1 className="mb-2 text-lg font-bold">Acknowledge an alert</h1>
      <p className="mb-4 text-sm text-slate-700">
        Rule <strong>{rule}</strong> on service <strong>{service}</strong>. Acknowledging stops its escalation; it still
        resolves on its own.
      </p>
      {ack.isSuccess ? (
        <p role="status" className="font-medium text-emerald-800">
          Acknowledged. Escalation stops within a few seconds.
        </p>
      ) : (
        <button type="button" className={button.primary} disabled={ack.isPending || !alert} onClick={() => ack.mutate()}>
          Acknowledge
        </button>
      )}
      {ack.error && (
        <p role="alert" className="mt-3 text-red-700">
          {ack.error.message}
        </p>
      )}
    </main>
  );
}
