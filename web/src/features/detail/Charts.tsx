// History charts (Chart.js; loaded with the detail page only): response
// time p50/p95/p99, the status timeline, CPU and memory.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from "chart.js";
import { useEffect, useRef } from "react";
import type { AnomalyView, Bucket } from "./api";

Chart.register(BarController, BarElement, CategoryScale, Legend, LineController, LineElement, LinearScale, PointElement, Tooltip);

function ChartCanvas({ config, label, note }: { config: ChartConfiguration; label: string; note?: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const chart = new Chart(canvas.current!, config);
    return () => chart.destroy();
  }, [config]);
  return (
    <figure className="rounded-lg border border-slate-200 bg-white p-3 shadow-sm">
      <figcaption className="mb-2 text-sm font-semibold text-slate-800">
        {label}
        {note && <span className="ml-2 font-normal text-purple-800">{note}</span>}
      </figcaption>
      <div className="h-56">
        <canvas ref={canvas} role="img" aria-label={note ? `${label}, ${note}` : label} />
      </div>
    </figure>
  );
}

const time = (iso: string, stepMs: number) => {
  const d = new Date(iso);
  return stepMs >= 86400e3 ? d.toLocaleDateString() : d.toLocaleString([], { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
};

const line = (label: string, data: (number | null)[], color: string) => ({
  label,
  data,
  borderColor: color,
  backgroundColor: color,
  // Points only where there are too few to draw a line.
  pointRadius: data.length < 3 ? 3 : 0,
  borderWidth: 2,
  spanGaps: true,
});

const options = { responsive: true, maintainAspectRatio: false, animation: false as const, interaction: { mode: "index" as const, intersect: false } };

/** Per bucket, the unusual response time whose hour starts in it, or null. */
function marks(buckets: Bucket[], stepMs: number, unusual: AnomalyView[]) {
  return buckets.map((b) => {
    const start = Date.parse(b.start);
    return unusual.find((a) => Date.parse(a.start) >= start && Date.parse(a.start) < start + stepMs)?.value ?? null;
  });
}

export function HistoryCharts({ buckets, stepMs, anomalies = [] }: { buckets: Bucket[]; stepMs: number; anomalies?: AnomalyView[] }) {
  const labels = buckets.map((b) => time(b.start, stepMs));
  // Unusual response times, drawn as large points over the lines.
  const slow = anomalies.filter((a) => a.metric === "response_time_ms");
  const unusual = { ...line("Unusual", marks(buckets, stepMs, slow), "#7e22ce"), showLine: false, pointRadius: 7, pointStyle: "triangle" as const };
  const marked = unusual.data.filter((v) => v != null).length;
  const latency: ChartConfiguration = {
    type: "line",
    data: {
      labels,
      datasets: [
        line("p50", buckets.map((b) => b.response_time_ms?.p50 ?? null), "#0369a1"),
        line("p95", buckets.map((b) => b.response_time_ms?.p95 ?? null), "#b45309"),
        line("p99", buckets.map((b) => b.response_time_ms?.p99 ?? null), "#b91c1c"),
        ...(slow.length ? [unusual] : []),
      ],
    },
    options: { ...options, scales: { y: { title: { display: true, text: "ms" }, beginAtZero: true } } },
  };
  const timeline: ChartConfiguration = {
    type: "bar",
    data: {
      labels,
      datasets: [
        { label: "OK", data: buckets.map((b) => b.ok), backgroundColor: "#16a34a" },
        { label: "Degraded", data: buckets.map((b) => b.degraded), backgroundColor: "#f59e0b" },
        { label: "Failed", data: buckets.map((b) => b.failed), backgroundColor: "#dc2626" },
        { label: "Other", data: buckets.map((b) => b.other), backgroundColor: "#7c3aed" },
      ],
    },
    options: { ...options, scales: { x: { stacked: true }, y: { stacked: true, title: { display: true, text: "results" } } } },
  };
  const hasCpu = buckets.some((b) => b.cpu_usage_avg != null);
  const hasMem = buckets.some((b) => b.memory_usage_avg != null);
  const resources: ChartConfiguration = {
    type: "line",
    data: {
      labels,
      datasets: [
        { ...line("CPU %", buckets.map((b) => b.cpu_usage_avg ?? null), "#0f766e"), yAxisID: "cpu" },
        { ...line("Memory MB", buckets.map((b) => (b.memory_usage_avg == null ? null : b.memory_usage_avg / 1048576)), "#6d28d9"), yAxisID: "mem" },
      ],
    },
    options: { ...options, scales: { cpu: { position: "left", beginAtZero: true }, mem: { position: "right", beginAtZero: true } } },
  };
  return (
    <div className="grid gap-3 lg:grid-cols-2">
      <ChartCanvas config={latency} label="Response time (p50 / p95 / p99)" note={marked ? `▲ ${marked} unusual hour${marked === 1 ? "" : "s"} marked` : undefined} />
      <ChartCanvas config={timeline} label="Status timeline" />
      {(hasCpu || hasMem) && <ChartCanvas config={resources} label="CPU and memory" />}
    </div>
  );
}
