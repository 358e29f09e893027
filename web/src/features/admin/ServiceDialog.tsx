// Create (three steps: basic info → check configuration → preview) or edit
// a service. The configuration is JSON, validated while typing; a create
// draft is kept in localStorage and offered back when the dialog reopens.
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { SERVICE_TYPES, type ServiceResponse, admin, adminKeys } from "./api";
import { ApiError } from "../../api/client";
import { Dialog, Field, button, input } from "../../ui/Dialog";
import { useToast } from "../../ui/toast";
import { type Basic, EXAMPLES, basicSchema, checkConfig, formatLabels, toService } from "./serviceForm";

const DRAFT = "lightbulb:service-draft";

interface Draft {
  basic: Basic;
  config: string;
}

function loadDraft(): Draft | null {
  try {
    return JSON.parse(localStorage.getItem(DRAFT) ?? "null") as Draft | null;
  } catch {
    return null;
  }
}

export function ServiceDialog({ open, onClose, editing }: { open: boolean; onClose: () => void; editing?: ServiceResponse }) {
  const toast = useToast();
  const client = useQueryClient();
  const [step, setStep] = useState(0);
  const [draft, setDraft] = useState<Draft | null>(() => (editing ? null : loadDraft()));
  const empty: Basic = editing
    ? { service_id: editing.service_id, label: editing.label, service_type: editing.service_type as Basic["service_type"], labels: formatLabels(editing.labels) }
    : { service_id: "", label: "", service_type: "api_endpoint", labels: "" };
  const form = useForm<Basic>({ resolver: zodResolver(basicSchema), defaultValues: empty, mode: "onChange" });
  const [config, setConfig] = useState(editing ? JSON.stringify(editing.status_config, null, 2) : EXAMPLES.api_endpoint);
  const [serverError, setServerError] = useState<ApiError | null>(null);
  const type = form.watch("service_type");
  const checked = checkConfig(type, config);

  const remember = () => {
    if (!editing) localStorage.setItem(DRAFT, JSON.stringify({ basic: form.getValues(), config }));
  };
  const save = useMutation({
    mutationFn: () => {
      if (!("config" in checked)) throw new Error(checked.error);
      const body = toService(form.getValues(), checked.config);
      return editing ? admin.update(editing.service_id, body) : admin.create(body);
    },
    onSuccess: (s) => {
      localStorage.removeItem(DRAFT);
      toast("success", `${editing ? "Saved" : "Created"} ${s.service_id}`);
      void client.invalidateQueries({ queryKey: adminKeys.all });
      close();
    },
    onError: (e) => {
      setServerError(e instanceof ApiError ? e : null);
      toast("error", e.message);
      const field = e instanceof ApiError ? e.field : null;
      if (field && !field.startsWith("status_config")) setStep(0);
      else if (field) setStep(1);
    },
  });
  const close = () => {
    setStep(0);
    setServerError(null);
    onClose();
  };
  const errors = form.formState.errors;
  const fieldError = (name: string) =>
    (errors as Record<string, { message?: string }>)[name]?.message ?? (serverError?.field === name ? serverError.message : undefined);
  const next = async () => {
    if (await form.trigger()) setStep(1);
  };

  return (
    <Dialog title={editing ? `Edit ${editing.service_id}` : "New service"} open={open} onClose={close}>
      <ol className="mb-4 flex gap-2 text-xs" aria-label="Steps">
        {["Basic info", "Check configuration", "Preview"].map((name, i) => (
          <li key={name} aria-current={i === step ? "step" : undefined} className={`rounded-full px-2 py-0.5 ${i === step ? "bg-slate-900 text-white" : "bg-slate-100 text-slate-700"}`}>
            {i + 1}. {name}
          </li>
        ))}
      </ol>
      {draft && step === 0 && (
        <div className="mb-3 flex items-center justify-between rounded-md bg-sky-50 p-2 text-sm text-sky-900">
          Unsaved draft for “{draft.basic.service_id || "a new service"}”.
          <span className="flex gap-2">
            <button type="button" className={button.secondary} onClick={() => { form.reset(draft.basic); setConfig(draft.config); setDraft(null); }}>
              Restore
            </button>
            <button type="button" className={button.secondary} onClick={() => { localStorage.removeItem(DRAFT); setDraft(null); }}>
              Discard
            </button>
          </span>
        </div>
      )}
      <form onChange={remember} onSubmit={(e) => { e.preventDefault(); if (step === 0) void next(); else if (step === 1 && "config" in checked) setStep(2); else if (step === 2) save.mutate(); }}>
        {step === 0 && (
          <div className="space-y-3">
            <Field label="Service id" error={fieldError("service_id")}>
              <input {...form.register("service_id")} className={input} disabled={!!editing} autoFocus placeholder="checkout-api" />
            </Field>
            <Field label="Label" error={fieldError("label")}>
              <input {...form.register("label")} className={input} placeholder="Checkout API" />
            </Field>
            <Field label="Type" error={fieldError("service_type")}>
              <select
                {...form.register("service_type", { onChange: (e) => !editing && setConfig(EXAMPLES[e.target.value] ?? "{}") })}
                className={input}
              >
                {SERVICE_TYPES.map((t) => <option key={t} value={t}>{t}</option>)}
              </select>
            </Field>
            <Field label="Agent labels (key=value, comma-separated)" error={fieldError("labels")}>
              <input {...form.register("labels")} className={input} placeholder="zone=eu" />
            </Field>
          </div>
        )}
        {step === 1 && (
          <Field label={`status_config for ${type} (JSON)`} error={"error" in checked ? checked.error : serverError?.field?.startsWith("status_config") ? `${serverError.field}: ${serverError.message}` : undefined}>
            <textarea value={config} onChange={(e) => { setConfig(e.target.value); setServerError(null); }} rows={10} spellCheck={false} className={`${input} font-mono`} aria-label="Check configuration" />
          </Field>
        )}
        {step === 2 && "config" in checked && (
          <div className="rounded-md border border-slate-200 p-3 text-sm" data-testid="preview">
            <p className="font-semibold">{form.getValues("label")} <span className="font-normal text-slate-600">({form.getValues("service_id")})</span></p>
            <p className="text-slate-700">{type} · labels: {form.getValues("labels") || "none"}</p>
            <pre className="mt-2 max-h-48 overflow-auto rounded bg-slate-50 p-2 text-xs">{JSON.stringify(checked.config, null, 2)}</pre>
          </div>
        )}
        <div className="mt-5 flex justify-between">
          <button type="button" className={button.secondary} onClick={() => (step === 0 ? close() : setStep(step - 1))}>
            {step === 0 ? "Cancel" : "Back"}
          </button>
          <button type="submit" className={button.primary} disabled={save.isPending || (step === 1 && "error" in checked)}>
            {step < 2 ? "Next" : editing ? "Save" : "Create"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
