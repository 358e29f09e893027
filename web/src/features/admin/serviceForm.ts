// The service form's rules, shared by the dialog and its tests. The server
// checks everything again; these give feedback while typing.
import { z } from "zod";
import { SERVICE_TYPES, type ServiceDef } from "./api";

/** Keys a check type needs in status_config (one of each group). */
const REQUIRED: Record<string, string[][]> = {
  api_endpoint: [["url"]],
  database: [["url"]],
  temporal_workflow: [["address"]],
  kubernetes_pod: [["selector", "pod", "deployment"]],
  python_process: [["pidfile", "pid", "cmdline", "venv", "systemd_unit"]],
  application: [],
};

export const EXAMPLES: Record<string, string> = {
  api_endpoint: '{\n  "url": "http://127.0.0.1:8000/health",\n  "interval": "30s"\n}',
  python_process: '{\n  "pidfile": "/run/worker.pid"\n}',
  database: '{\n  "url": "http://127.0.0.1:8123"\n}',
  temporal_workflow: '{\n  "address": "127.0.0.1:7233",\n  "namespace": "default"\n}',
  kubernetes_pod: '{\n  "namespace": "default",\n  "selector": "app=web"\n}',
  application: '{\n  "on_dependency_failed": "degraded"\n}',
};

export const basicSchema = z.object({
  service_id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "lowercase letters, digits and '-', at most 63, not starting with '-'"),
  label: z.string().trim().min(1, "a label is required"),
  service_type: z.enum(SERVICE_TYPES),
  labels: z
    .string()
    .refine((t) => parseLabels(t) !== null, "write labels as key=value, separated by commas"),
});

export type Basic = z.infer<typeof basicSchema>;

/** `zone=eu, team=core` as a map; null when malformed. */
export function parseLabels(text: string): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) return null;
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

export function formatLabels(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

/** The parsed check configuration, or why it is not acceptable. */
export function checkConfig(type: string, text: string): { config: Record<string, unknown> } | { error: string } {
  let value: unknown;
  try {
    value = text.trim() === "" ? {} : JSON.parse(text);
  } catch (e) {
    return { error: `not JSON: ${(e as Error).message}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { error: "must be a JSON object of settings" };
  }
  for (const group of REQUIRED[type] ?? []) {
    if (!group.some((k) => k in (value as object))) {
      return { error: group.length === 1 ? `\`${group[0]}\` is required for ${type}` : `one of ${group.map((k) => `\`${k}\``).join(", ")} is required for ${type}` };
    }
  }
  return { config: value as Record<string, unknown> };
}

export function toService(b: Basic, config: Record<string, unknown>): Partial<ServiceDef> {
  return {
    service_id: b.service_id,
    label: b.label.trim(),
    service_type: b.service_type,
    labels: parseLabels(b.labels) ?? {},
    status_config: config,
  };
}
