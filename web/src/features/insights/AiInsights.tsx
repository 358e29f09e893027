// The "AI insights" panel of a service page: the newest analysis of its
// failure by the configured model (summary, likely root cause, evidence,
// next steps, confidence), exactly what was sent, earlier analyses, and
// for catalog editors a button to ask for one now.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useAuth } from "../auth/useAuth";
import { type Analysis, insightKeys, insights, readable } from "./api";

const when = (iso: string) => new Date(iso).toLocaleString();

function Result({ a }: { a: Analysis }) {
  const origin = a.trigger === "transition" ? `on its own when the incident began (${a.incident_start ? when(a.incident_start) : "—"})` : `asked by ${a.requested_by ?? "—"}`;
  return (
    <article data-testid="analysis" data-outcome={a.outcome} className="space-y-2">
      {a.outcome === "answered" && a.answer ? (
        <>
          <p className="font-semibold" data-testid="analysis-summary">{a.answer.summary}</p>
          <p>
            <span className="font-semibold">Likely root cause: </span>
            {a.answer.likely_root_cause}
          </p>
          {a.answer.evidence.length > 0 && (
            <div>
              <h4 className="font-semibold">Evidence</h4>
              <ul className="list-disc pl-5">
                {a.answer.evidence.map((e, i) => (
                  <li key={i}><code className="break-words">{e}</code></li>
                ))}
              </ul>
            </div>
          )}
          {a.answer.next_steps.length > 0 && (
            <div>
              <h4 className="font-semibold">Next steps</h4>
              <ol className="list-decimal pl-5">
                {a.answer.next_steps.map((s, i) => <li key={i}>{s}</li>)}
              </ol>
            </div>
          )}
          <p className="text-xs text-slate-600">Confidence {Math.round(a.answer.confidence * 100)} %</p>
        </>
      ) : a.outcome === "invalid_answer" ? (
        <div role="status" className="text-amber-900">
          <p>The model's answer was not usable: {a.error}</p>
          <details>
            <summary className="cursor-pointer">Its answer as written</summary>
            <pre tabIndex={0} aria-label="The answer as written" className="mt-1 max-h-60 overflow-auto whitespace-pre-wrap rounded bg-slate-50 p-2 text-xs">{a.raw_answer}</pre>
          </details>
        </div>
      ) : (
        <p role="status" className="text-red-800">No analysis: {a.error}</p>
      )}
      <p className="text-xs text-slate-600">
        {a.model} · {when(a.created)} · {origin} · status {a.status}
        {a.prompt_tokens != null && ` · ${a.prompt_tokens + (a.completion_tokens ?? 0)} tokens`}
      </p>
      <details>
        <summary className="cursor-pointer text-sm text-slate-800">Context sent ({a.redactions} value{a.redactions === 1 ? "" : "s"} redacted)</summary>
        <pre tabIndex={0} aria-label="Context sent" className="mt-1 max-h-80 overflow-auto rounded bg-slate-50 p-2 text-xs" data-testid="analysis-context">{readable(a.context)}</pre>
      </details>
    </article>
  );
}

export function AiInsights({ serviceId }: { serviceId: string }) {
  const { can } = useAuth();
  const client = useQueryClient();
  const [picked, setPicked] = useState<string | null>(null);
  const found = useQuery({ queryKey: insightKeys.of(serviceId), queryFn: ({ signal }) => insights.list(serviceId, signal), refetchInterval: 30_000 });
  const ask = useMutation({
    mutationFn: () => insights.ask(serviceId),
    onSuccess: (a) => {
      setPicked(a.analysis_id);
      return client.invalidateQueries({ queryKey: insightKeys.of(serviceId) });
    },
  });
  const data = found.data;
  const list = data?.analyses ?? [];
  const shown = list.find((a) => a.analysis_id === picked) ?? list[0];
  return (
    <section className="rounded-lg border border-slate-200 bg-white p-3 text-sm shadow-sm" aria-labelledby="insights-title" data-testid="ai-insights">
      <div className="mb-2 flex flex-wrap items-center gap-2">
        <h3 id="insights-title" className="font-semibold">AI insights</h3>
        <span className="flex-1" />
        {data?.enabled && (
          <span className="text-xs text-slate-600">
            {data.tokens_used.toLocaleString()} of {data.tokens_per_hour.toLocaleString()} tokens this hour
          </span>
        )}
        {data?.enabled && can("catalog_write") && (
          <button type="button" onClick={() => ask.mutate()} disabled={ask.isPending} className="rounded-md border border-slate-300 px-3 py-1 hover:bg-slate-100 disabled:opacity-50">
            {ask.isPending ? "Analysing…" : "Analyse now"}
          </button>
        )}
      </div>
      {ask.error && <p className="mb-2 text-red-800" role="alert">Cannot analyse: {ask.error.message}</p>}
      {found.error ? (
        <p className="text-red-800" role="alert">Cannot load analyses: {found.error.message}</p>
      ) : !data ? (
        <p className="text-slate-600">Loading…</p>
      ) : !data.enabled && list.length === 0 ? (
        <p className="text-slate-600">AI analysis is off: configure a model under <code>[insights.ai]</code> in collector.toml (see the README).</p>
      ) : !shown ? (
        <p className="text-slate-600">No analysis yet: one is made when the service turns FAILED or DEGRADED.</p>
      ) : (
        <>
          <Result a={shown} />
          {list.length > 1 && (
            <details className="mt-2">
              <summary className="cursor-pointer text-sm text-slate-800">Earlier analyses ({list.length - 1})</summary>
              <ul className="mt-1 space-y-1">
                {list.filter((a) => a !== shown).map((a) => (
                  <li key={a.analysis_id}>
                    <button type="button" className="text-left underline" onClick={() => setPicked(a.analysis_id)}>
                      {when(a.created)}: {a.answer?.summary ?? a.error}
                    </button>
                  </li>
                ))}
              </ul>
            </details>
          )}
        </>
      )}
    </section>
  );
}
