// Holds back one service's alert notifications for a while (a silence), or
// marks it in maintenance (also shown on the dashboard and left out of
// availability reports). The notifications held back are recorded.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { button, input } from "../../ui/Dialog";
import { useToast } from "../../ui/toast";
import { alertKeys, alerts } from "./api";

export function SilenceForm({ service }: { service: string }) {
  const [open, setOpen] = useState(false);
  const [duration, setDuration] = useState("1h");
  const [comment, setComment] = useState("");
  const [maintenance, setMaintenance] = useState(true);
  const toast = useToast();
  const client = useQueryClient();
  const save = useMutation({
    mutationFn: () => alerts.silence(service, duration, comment, maintenance),
    onSuccess: () => {
      toast("success", `${service}: ${maintenance ? "in maintenance" : "silenced"} for ${duration}`);
      setOpen(false);
      void client.invalidateQueries({ queryKey: alertKeys.silences });
    },
    onError: (e) => toast("error", e.message),
  });
  if (!open) {
    return (
      <button type="button" className={button.secondary} onClick={() => setOpen(true)}>
        Silence…
      </button>
    );
  }
  return (
    <form
      aria-label="Silence"
      className="flex flex-wrap items-end gap-2"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <label className="flex flex-col gap-1 text-sm">
        For
        <select className={input} value={duration} onChange={(e) => setDuration(e.target.value)}>
          {["30m", "1h", "4h", "1d"].map((d) => (
            <option key={d}>{d}</option>
          ))}
        </select>
      </label>
      <label className="flex flex-col gap-1 text-sm">
        Why
        <input className={input} value={comment} onChange={(e) => setComment(e.target.value)} placeholder="database upgrade" />
      </label>
      <label className="flex items-center gap-1 text-sm">
        <input type="checkbox" checked={maintenance} onChange={(e) => setMaintenance(e.target.checked)} />
        Maintenance
      </label>
      <button type="submit" className={button.primary} disabled={save.isPending}>
        Save
      </button>
      <button type="button" className={button.secondary} onClick={() => setOpen(false)}>
        Cancel
      </button>
    </form>
  );
}
