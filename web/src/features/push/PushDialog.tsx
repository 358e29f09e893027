// Notifications: push this browser the status changes of the services its
// user follows (all, or those chosen), test it, turn it off; the user's
// other subscribed browsers are listed with how their last push went.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Dialog, Field, button, input } from "../../ui/Dialog";
import { useToast } from "../../ui/toast";
import { type MySubscription, browserSubscription, push, pushKeys, subscribeBrowser } from "./api";

type Service = { service_id: string; label: string };

const servicesText = (n: number) => (n === 1 ? "1 service" : `${n} services`);

export function PushButton({ services }: { services: Service[] }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="rounded-md px-2 py-1 text-sm text-slate-700 hover:bg-slate-200" onClick={() => setOpen(true)}>
        Notifications
      </button>
      {open && <PushDialog services={services} onClose={() => setOpen(false)} />}
    </>
  );
}

function lastPush(s: MySubscription) {
  const p = s.last_push;
  if (!p) return "no push yet";
  const at = new Date(p.at_ms).toLocaleString();
  return p.ok ? `last push delivered ${at}` : `last push failed ${at}: ${p.detail}`;
}

function PushDialog({ services, onClose }: { services: Service[]; onClose: () => void }) {
  const toast = useToast();
  const client = useQueryClient();
  const mine = useQuery({ queryKey: pushKeys.mine, queryFn: ({ signal }) => push.mine(signal) });
  const [browser, setBrowser] = useState<PushSubscription | null | string | undefined>(undefined);
  useEffect(() => {
    browserSubscription().then(setBrowser, (e: Error) => setBrowser(e.message));
  }, []);
  const here = typeof browser === "object" && browser ? mine.data?.find((s) => s.endpoint === browser.endpoint) : undefined;
  const [all, setAll] = useState(true);
  const [chosen, setChosen] = useState<string[]>([]);
  const [label, setLabel] = useState("");
  const [filter, setFilter] = useState("");
  const [error, setError] = useState<{ field?: string | null; message: string } | null>(null);
  useEffect(() => {
    if (!here) return;
    setAll(here.services.length === 0);
    setChosen(here.services);
    setLabel(here.label);
  }, [here?.subscription_id]);
  const refresh = () => void client.invalidateQueries({ queryKey: pushKeys.mine });
  const save = useMutation({
    mutationFn: async () => {
      const sub = typeof browser === "object" && browser ? browser : await subscribeBrowser();
      setBrowser(sub);
      return push.subscribe(sub.toJSON(), all ? [] : chosen, label);
    },
    onSuccess: () => {
      setError(null);
      toast("success", all ? "This browser is told of every service's status changes" : `This browser is told of status changes of ${servicesText(chosen.length)}`);
      refresh();
    },
    onError: (e: Error & { field?: string | null }) => setError({ field: e.field, message: e.message }),
  });
  const test = useMutation({
    mutationFn: (id: string) => push.test(id),
    onSuccess: (o) => {
      toast(o.ok ? "success" : "error", o.ok ? "Test notification sent" : `Test not delivered: ${o.detail}`);
      refresh();
    },
    onError: (e) => toast("error", e.message),
  });
  const remove = useMutation({
    mutationFn: async (s: MySubscription) => {
      await push.remove(s.subscription_id);
      if (here?.subscription_id === s.subscription_id && typeof browser === "object" && browser) {
        await browser.unsubscribe();
        setBrowser(null);
      }
    },
    onSuccess: () => {
      toast("success", "Notifications turned off for that browser");
      refresh();
    },
    onError: (e) => toast("error", e.message),
  });
  const shown = services.filter((s) => `${s.service_id} ${s.label}`.toLowerCase().includes(filter.toLowerCase())).slice(0, 200);
  const toggle = (id: string) => setChosen((c) => (c.includes(id) ? c.filter((x) => x !== id) : [...c, id]));
  return (
    <Dialog title="Notifications" open onClose={onClose}>
      {typeof browser === "string" ? (
        <p className="text-sm text-slate-700" data-testid="push-unsupported">{browser}</p>
      ) : (
        <form className="space-y-3" data-testid="push-form" onSubmit={(e) => { e.preventDefault(); save.mutate(); }}>
          <p className="text-sm text-slate-700" data-testid="push-state">
            {here ? `This browser gets notifications (${lastPush(here)}).` : "This browser gets no notifications yet."}
          </p>
          <Field label="Name of this browser (optional)" error={error?.field === "label" ? error.message : undefined}>
            <input className={input} value={label} onChange={(e) => setLabel(e.target.value)} placeholder="Work laptop" />
          </Field>
          <fieldset className="space-y-1 text-sm">
            <legend className="font-medium">Status changes of</legend>
            <label className="flex items-center gap-2">
              <input type="radio" name="push-scope" checked={all} onChange={() => setAll(true)} />
              every service
            </label>
            <label className="flex items-center gap-2">
              <input type="radio" name="push-scope" checked={!all} onChange={() => setAll(false)} />
              only these ({chosen.length} chosen)
            </label>
          </fieldset>
          {!all && (
            <div className="space-y-2">
              <input className={input} value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="Filter services" aria-label="Filter services" />
              <ul className="max-h-48 space-y-1 overflow-y-auto text-sm" aria-label="Services">
                {shown.map((s) => (
                  <li key={s.service_id}>
                    <label className="flex items-center gap-2">
                      <input type="checkbox" checked={chosen.includes(s.service_id)} onChange={() => toggle(s.service_id)} />
                      {s.label && s.label !== s.service_id ? `${s.label} (${s.service_id})` : s.service_id}
                    </label>
                  </li>
                ))}
              </ul>
            </div>
          )}
          {error && error.field !== "label" && <p className="text-sm text-red-700" role="alert">{error.message}</p>}
          <div className="flex flex-wrap gap-2">
            <button type="submit" className={button.primary} disabled={save.isPending}>
              {here ? "Save" : "Turn on notifications"}
            </button>
            {here && (
              <button type="button" className={button.secondary} onClick={() => test.mutate(here.subscription_id)}>
                Send a test
              </button>
            )}
          </div>
        </form>
      )}
      {mine.data && mine.data.length > 0 && (
        <section className="mt-4 text-sm">
          <h3 className="mb-1 font-medium">Your browsers</h3>
          <ul className="space-y-1" data-testid="push-browsers">
            {mine.data.map((s) => (
              <li key={s.subscription_id} className="flex items-center justify-between gap-2">
                <span>
                  {s.label || "Unnamed browser"}
                  {s.subscription_id === here?.subscription_id ? " (this one)" : ""}: {s.services.length ? servicesText(s.services.length) : "every service"}, {lastPush(s)}
                </span>
                <button type="button" className={`${button.secondary} whitespace-nowrap`} onClick={() => remove.mutate(s)}>
                  Turn off
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </Dialog>
  );
}
