// A channel's editor: its kind and the settings that kind needs. Secrets
// come back as `<redacted>` and are kept as they are unless retyped. The
// API judges the channel; a refusal is shown at the field it names.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ApiError } from "../../api/client";
import { Dialog, Field, button, input } from "../../ui/Dialog";
import { useToast } from "../../ui/toast";
import { type Channel, configKeys, config } from "./api";

type Kind = Channel["target"]["kind"];

/** Each kind's settings: field, label, and whether it is a secret or a list. */
const FIELDS: Record<Kind, [string, string, ("secret" | "list" | "number")?][]> = {
  webhook: [["url", "URL"], ["secret", "Signing secret (optional)", "secret"]],
  slack: [["url", "Incoming webhook URL"]],
  teams: [["url", "Workflow webhook URL"]],
  pagerduty: [["routing_key", "Integration key", "secret"], ["url", "Events API URL (optional)"]],
  servicenow: [["instance", "Instance URL"], ["username", "User"], ["password", "Password", "secret"]],
  email: [
    ["host", "SMTP host"],
    ["port", "Port", "number"],
    ["tls", "TLS (starttls, tls, none)"],
    ["username", "User (optional)"],
    ["password", "Password (optional)", "secret"],
    ["from", "From"],
    ["to", "To (comma-separated)", "list"],
  ],
  web_push: [["users", "Users whose browsers get it (comma-separated; empty: everyone subscribed)", "list"]],
};

function values(c?: Channel): Record<string, string> {
  if (!c) return {};
  return Object.fromEntries(
    Object.entries(c.target)
      .filter(([k]) => k !== "kind")
      .map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : v == null ? "" : String(v)]),
  );
}

export function ChannelDialog({ channel, open, onClose }: { channel?: Channel; open: boolean; onClose: () => void }) {
  const [id, setId] = useState(channel?.channel_id ?? "");
  const [name, setName] = useState(channel?.name ?? "");
  const [kind, setKind] = useState<Kind>(channel?.target.kind ?? "webhook");
  const [v, setV] = useState<Record<string, string>>(() => values(channel));
  const [error, setError] = useState<ApiError | null>(null);
  const toast = useToast();
  const client = useQueryClient();
  const body = () => {
    const b: Record<string, unknown> = { channel_id: id, name: name || id, kind };
    for (const [key, , how] of FIELDS[kind]) {
      const text = (v[key] ?? "").trim();
      if (text === "") continue;
      b[key] = how === "list" ? text.split(",").map((x) => x.trim()).filter((x) => x) : how === "number" && Number.isFinite(Number(text)) ? Number(text) : text;
    }
    return b;
  };
  const save = useMutation({
    mutationFn: () => config.saveChannel(body(), channel !== undefined),
    onSuccess: (c) => {
      toast("success", `${channel ? "Saved" : "Created"} channel ${c.channel_id}`);
      void client.invalidateQueries({ queryKey: configKeys.channels });
      onClose();
    },
    onError: (e) => {
      setError(e instanceof ApiError ? e : new ApiError(0, e.message));
      toast("error", e.message);
    },
  });
  const at = (field: string) => (error?.field === field || error?.field?.startsWith(`${field}[`) ? `${error.field}: ${error.message}` : undefined);
  const known = new Set(["channel_id", "name", "kind", ...FIELDS[kind].map(([k]) => k)]);
  const unplaced = error && (!error.field || !known.has(error.field.replace(/\[.*$/, ""))) ? error.message : undefined;
  return (
    <Dialog title={channel ? `Channel ${channel.channel_id}` : "New channel"} open={open} onClose={onClose}>
      <form
        className="space-y-3"
        onSubmit={(e) => {
          e.preventDefault();
          setError(null);
          save.mutate();
        }}
      >
        <div className="grid grid-cols-2 gap-3">
          <Field label="Channel id" error={at("channel_id")}>
            <input className={input} value={id} disabled={channel !== undefined} autoFocus onChange={(e) => setId(e.target.value.trim())} />
          </Field>
          <Field label="Name" error={at("name")}>
            <input className={input} value={name} onChange={(e) => setName(e.target.value)} />
          </Field>
        </div>
        <Field label="Kind" error={at("kind")}>
          <select className={input} value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
            {Object.keys(FIELDS).map((k) => <option key={k}>{k}</option>)}
          </select>
        </Field>
        {FIELDS[kind].map(([key, label, how]) => (
          <Field key={`${kind}-${key}`} label={label} error={at(key)}>
            <input
              className={input}
              type={how === "secret" ? "password" : "text"}
              autoComplete="off"
              value={v[key] ?? ""}
              onChange={(e) => setV({ ...v, [key]: e.target.value })}
            />
          </Field>
        ))}
        {unplaced && <p className="text-sm text-red-800" role="alert">{unplaced}</p>}
        <div className="flex justify-end gap-2">
          <button type="button" className={button.secondary} onClick={onClose}>Cancel</button>
          <button type="submit" className={button.primary} disabled={save.isPending || id === ""}>
            {channel ? "Save channel" : "Create channel"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
