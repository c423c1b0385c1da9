/**
 * A hand-written SVG chart (no dependencies): latency distribution (CDF, log time axis), throughput
 * over time (completions and starts per second, worker RSS, dbt runs) and, below, the project's
 * figures as ratios of their references with the targets (chart-bars.ts).
 */
import { barsHeight, barsPanel, type Bar } from './chart-bars';

export interface Series {
  label: string;
  color: string;
  dashed?: boolean;
  /** Values (ms) for a CDF, or y values per x for a time series. */
  values: readonly number[];
}

export interface ChartInput {
  title: string;
  subtitle: string[];
  latency: Series[];
  /** Time series: x = seconds since start of the run at `bucketS` spacing. */
  throughput: { bucketS: number; series: Series[] };
  /** Worker RSS: [seconds, MB]. */
  rss: { points: [number, number][]; color: string; label: string };
  /** dbt runs: [start s, end s]. */
  dbtRuns: [number, number][];
  /** Ratios of the references, with their targets. */
  bars: Bar[];
}

const W = 1000;
const PAD = { l: 64, r: 64 };
const PANEL_H = 300;
const LEGEND_ROW = 16;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const f = (x: number) => (Math.round(x * 10) / 10).toString();

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function legend(items: { label: string; color: string; dashed?: boolean }[], x: number, y: number): string {
  return items
    .map((s, i) => {
      const yy = y + i * LEGEND_ROW;
      return (
        `<line x1="${x}" y1="${yy}" x2="${x + 22}" y2="${yy}" stroke="${s.color}" stroke-width="2.5"` +
        `${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>` +
        `<text x="${x + 28}" y="${yy + 4}" font-size="11">${esc(s.label)}</text>`
      );
    })
    .join('');
}

function latencyPanel(series: Series[], x0: number, y0: number, w: number, h: number): string {
  const all = series.flatMap((s) => s.values).filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...all, 1))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all, 10)));
  const sx = (v: number) => x0 + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / Math.log10(hi / lo)) * w;
  const sy = (p: number) => y0 + h - (p / 100) * h;
  let out = `<text x="${x0}" y="${y0 - 10}" font-size="13" font-weight="bold">Latency distribution (share of executions at or below)</text>`;
  for (let d = lo; d <= hi; d *= 10) {
    out += `<line x1="${f(sx(d))}" y1="${y0}" x2="${f(sx(d))}" y2="${y0 + h}" stroke="#ddd"/>`;
    out += `<text x="${f(sx(d))}" y="${y0 + h + 16}" font-size="10" text-anchor="middle">${d >= 1000 ? `${d / 1000} s` : `${d} ms`}</text>`;
  }
  for (const p of [0, 25, 50, 75, 95, 100]) {
    out += `<line x1="${x0}" y1="${f(sy(p))}" x2="${x0 + w}" y2="${f(sy(p))}" stroke="${p === 95 ? '#bbb' : '#eee'}"/>`;
    out += `<text x="${x0 - 6}" y="${f(sy(p) + 3)}" font-size="10" text-anchor="end">${p}%</text>`;
  }
  for (const s of series) {
    const v = [...s.values].sort((a, b) => a - b);
    if (v.length === 0) continue;
    const step = Math.max(1, Math.floor(v.length / 400));
    const pts: string[] = [];
    for (let i = 0; i < v.length; i += step)
      pts.push(`${f(sx(v[i] ?? 0))},${f(sy(((i + 1) / v.length) * 100))}`);
    pts.push(`${f(sx(v[v.length - 1] ?? 0))},${f(sy(100))}`);
    out += `<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${pts.join(' ')}"/>`;
  }
  out += `<text x="${x0 + w / 2}" y="${y0 + h + 34}" font-size="11" text-anchor="middle">time per execution (log scale)</text>`;
  out += legend(series, x0, y0 + h + 56);
  return out;
}

function throughputPanel(input: ChartInput, x0: number, y0: number, w: number, h: number): string {
  const { bucketS, series } = input.throughput;
  const len = Math.max(...series.map((s) => s.values.length), 1);
  const rssEnd = input.rss.points.at(-1)?.[0] ?? 0;
  const dbtEnd = Math.max(0, ...input.dbtRuns.map((r) => r[1]));
  const xMax = niceMax(Math.max(len * bucketS, rssEnd, dbtEnd));
  const yMax = niceMax(Math.max(...series.flatMap((s) => s.values), 1));
  const rMax = niceMax(Math.max(...input.rss.points.map((p) => p[1]), 1));
  const sx = (t: number) => x0 + (t / xMax) * w;
  const sy = (v: number) => y0 + h - (v / yMax) * h;
  const sr = (v: number) => y0 + h - (v / rMax) * h;
  let out = `<text x="${x0}" y="${y0 - 10}" font-size="13" font-weight="bold">Throughput over time</text>`;
  for (const [a, b] of input.dbtRuns) {
    out += `<rect x="${f(sx(a))}" y="${y0}" width="${f(Math.max(1, sx(b) - sx(a)))}" height="${h}" fill="#f4e3c1" opacity="0.7"/>`;
  }
  for (let i = 0; i <= 5; i++) {
    const v = (yMax / 5) * i;
    out += `<line x1="${x0}" y1="${f(sy(v))}" x2="${x0 + w}" y2="${f(sy(v))}" stroke="#eee"/>`;
    out += `<text x="${x0 - 6}" y="${f(sy(v) + 3)}" font-size="10" text-anchor="end">${Math.round(v)}</text>`;
    const r = (rMax / 5) * i;
    out += `<text x="${x0 + w + 6}" y="${f(sr(r) + 3)}" font-size="10" fill="${input.rss.color}">${Math.round(r)}</text>`;
  }
  for (let i = 0; i <= 6; i++) {
    const t = (xMax / 6) * i;
    out += `<text x="${f(sx(t))}" y="${y0 + h + 16}" font-size="10" text-anchor="middle">${Math.round(t * 10) / 10} s</text>`;
  }
  for (const s of series) {
    const pts = s.values.map((v, i) => `${f(sx((i + 0.5) * bucketS))},${f(sy(v))}`);
    out += `<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${pts.join(' ')}"/>`;
  }
  const rssPts = input.rss.points.map(([t, v]) => `${f(sx(t))},${f(sr(v))}`);
  out += `<polyline fill="none" stroke="${input.rss.color}" stroke-width="1.5" stroke-dasharray="2 2" points="${rssPts.join(' ')}"/>`;
  out += `<text x="${x0 - 44}" y="${y0 + h / 2}" font-size="11" transform="rotate(-90 ${x0 - 44} ${y0 + h / 2})" text-anchor="middle">executions / s</text>`;
  out += `<text x="${x0 + w + 44}" y="${y0 + h / 2}" font-size="11" fill="${input.rss.color}" transform="rotate(90 ${x0 + w + 44} ${y0 + h / 2})" text-anchor="middle">worker RSS (MB)</text>`;
  out += `<text x="${x0 + w / 2}" y="${y0 + h + 34}" font-size="11" text-anchor="middle">seconds since each run's first start</text>`;
  out += legend(
    [
      ...series,
      { label: input.rss.label, color: input.rss.color, dashed: true },
      { label: 'dbt run (model refresh)', color: '#e8c17a' },
    ],
    x0,
    y0 + h + 56,
  );
  return out;
}

export function renderChart(input: ChartInput): string {
  const panelW = (W - PAD.l - PAD.r - 110) / 2;
  const panelH = PANEL_H;
  const top = 44 + input.subtitle.length * 15 + 30;
  const legendRows = Math.max(input.latency.length, input.throughput.series.length + 2);
  const barsTop = top + panelH + 56 + legendRows * LEGEND_ROW + 30;
  const H = barsTop + barsHeight(input.bars) + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${PAD.l}" y="24" font-size="15" font-weight="bold">${esc(input.title)}</text>`,
    ...input.subtitle.map(
      (line, i) => `<text x="${PAD.l}" y="${44 + i * 15}" font-size="11" fill="#555">${esc(line)}</text>`,
    ),
    latencyPanel(input.latency, PAD.l, top, panelW, panelH),
    throughputPanel(input, PAD.l + panelW + 110, top, panelW, panelH),
    barsPanel(input.bars, PAD.l, barsTop, W - PAD.l - PAD.r),
    `</svg>`,
    '',
  ].join('\n');
}
