import { escapeHtml, formatElapsed } from './format.ts';

/**
 * Small inline-SVG charts for the HTML report: a time-series line chart and a horizontal bar chart.
 * No scripts, no external fonts; every text is escaped.
 */

export interface ChartSeries {
  name: string;
  color: string;
  /** One value per x; null leaves a gap (e.g. no latency measured in that interval). */
  values: (number | null)[];
  /** How points are combined when the series is thinned for drawing. Default 'mean'. */
  aggregate?: 'mean' | 'max';
  /** Shades the area under the line. */
  fill?: boolean;
  dashed?: boolean;
}

export interface LineChartOptions {
  /** Used in the accessible title and as a CSS hook. */
  title: string;
  /** Elapsed seconds of each point. */
  x: number[];
  series: ChartSeries[];
  /** Axis value formatter. */
  yFormat?: (v: number) => string;
  /** Values are counts: y ticks are whole numbers. */
  integer?: boolean;
  /** Unit shown above the y axis. */
  yUnit?: string;
  width?: number;
  height?: number;
  /** At most this many points are drawn per series. Default 600. */
  maxPoints?: number;
}

const M = { left: 58, right: 18, top: 34, bottom: 30 };

export function renderLineChart(o: LineChartOptions): string {
  const W = o.width ?? 1040;
  const H = o.height ?? 240;
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const fmt = o.yFormat ?? defaultFormat;
  const { x, series } = thin(o.x, o.series, o.maxPoints ?? 600);

  const parts: string[] = [];
  parts.push(
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${escapeHtml(o.title)}">`,
    `<title>${escapeHtml(o.title)}</title>`,
  );

  let yMax = 0;
  for (const s of series) for (const v of s.values) if (v !== null && Number.isFinite(v) && v > yMax) yMax = v;
  const ticks = niceTicks(yMax, o.integer);
  const top = ticks[ticks.length - 1];
  const x0 = x.length ? x[0] : 0;
  const x1 = x.length > 1 ? x[x.length - 1] : x0 + 1;
  const sx = (v: number) => M.left + ((v - x0) / (x1 - x0 || 1)) * plotW;
  const sy = (v: number) => M.top + plotH - (v / top) * plotH;

  // Grid and y labels.
  for (const t of ticks) {
    const y = r(sy(t));
    parts.push(`<line class="grid" x1="${M.left}" y1="${y}" x2="${W - M.right}" y2="${y}"/>`);
    parts.push(`<text class="tick" x="${M.left - 8}" y="${y + 4}" text-anchor="end">${escapeHtml(fmt(t))}</text>`);
  }
  if (o.yUnit) parts.push(`<text class="unit" x="4" y="${M.top - 14}">${escapeHtml(o.yUnit)}</text>`);
  // x labels, as elapsed time.
  for (const t of timeTicks(x0, x1)) {
    const xx = r(sx(t));
    parts.push(`<line class="xtick" x1="${xx}" y1="${M.top + plotH}" x2="${xx}" y2="${M.top + plotH + 4}"/>`);
    parts.push(`<text class="tick" x="${xx}" y="${H - 10}" text-anchor="middle">${escapeHtml(formatElapsed(t * 1000))}</text>`);
  }
  parts.push(`<line class="axis" x1="${M.left}" y1="${M.top + plotH}" x2="${W - M.right}" y2="${M.top + plotH}"/>`);

  if (x.length === 0) {
    parts.push(`<text class="empty" x="${M.left + plotW / 2}" y="${M.top + plotH / 2}" text-anchor="middle">no data</text>`);
  }

  // Drawn last to first, so the first series (the headline figure) lies on top.
  for (const s of [...series].reverse()) {
    const runs = segments(x, s.values);
    const cls = `series${s.dashed ? ' dashed' : ''}`;
    for (const run of runs) {
      if (run.length === 1) {
        const [px, pv] = run[0];
        parts.push(`<circle cx="${r(sx(px))}" cy="${r(sy(pv))}" r="2.5" fill="${escapeHtml(s.color)}"><title>${escapeHtml(`${s.name}: ${fmt(pv)}`)}</title></circle>`);
        continue;
      }
      const d = run.map(([px, pv], i) => `${i === 0 ? 'M' : 'L'}${r(sx(px))},${r(sy(pv))}`).join('');
      if (s.fill) {
        const first = run[0][0];
        const last = run[run.length - 1][0];
        parts.push(`<path class="area" d="${d}L${r(sx(last))},${r(sy(0))}L${r(sx(first))},${r(sy(0))}Z" fill="${escapeHtml(s.color)}"/>`);
      }
      parts.push(`<path class="${cls}" d="${d}" stroke="${escapeHtml(s.color)}"/>`);
    }
  }

  // Legend, right-aligned above the plot.
  let lx = W - M.right;
  for (let i = series.length - 1; i >= 0; i--) {
    const s = series[i];
    const textW = s.name.length * 6.6;
    lx -= textW;
    parts.push(`<text class="legend" x="${r(lx)}" y="${M.top - 14}">${escapeHtml(s.name)}</text>`);
    lx -= 22;
    parts.push(`<line x1="${r(lx)}" y1="${M.top - 18}" x2="${r(lx + 16)}" y2="${M.top - 18}" stroke="${escapeHtml(s.color)}" stroke-width="3" stroke-linecap="round"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`);
    lx -= 16;
  }

  parts.push('</svg>');
  return parts.join('');
}

export interface BarItem {
  label: string;
  value: number;
  color: string;
  /** Text after the bar; default the value. */
  note?: string;
}

/** Horizontal bars, one per item, scaled to the largest value. */
export function renderBarChart(title: string, items: BarItem[], width = 1040): string {
  const rowH = 28;
  const labelW = 170;
  const noteW = 120;
  const H = Math.max(1, items.length) * rowH + 12;
  const max = Math.max(1, ...items.map((i) => i.value));
  const barW = width - labelW - noteW - 20;
  const parts = [
    `<svg class="chart bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${H}" width="100%" role="img" aria-label="${escapeHtml(title)}">`,
    `<title>${escapeHtml(title)}</title>`,
  ];
  items.forEach((item, i) => {
    const y = 6 + i * rowH;
    const w = Math.max(2, (item.value / max) * barW);
    parts.push(`<text class="barlabel" x="${labelW - 10}" y="${y + 17}" text-anchor="end">${escapeHtml(item.label)}</text>`);
    parts.push(`<rect x="${labelW}" y="${y + 4}" width="${r(w)}" height="${rowH - 10}" rx="3" fill="${escapeHtml(item.color)}"/>`);
    parts.push(`<text class="barnote" x="${r(labelW + w + 8)}" y="${y + 17}">${escapeHtml(item.note ?? String(item.value))}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** 0 and 4–6 round steps up to at least `max` (whole steps when `integer`). */
export function niceTicks(max: number, integer = false): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  if (integer) step = step < 1 ? 1 : step === 2.5 ? 2 : Math.round(step);
  const ticks: number[] = [];
  for (let t = 0; t < max + step * 0.999; t += step) ticks.push(Number(t.toPrecision(12)));
  if (ticks.length < 2) ticks.push(step);
  return ticks;
}

/** Round elapsed-time ticks (in s) between x0 and x1, about six of them. */
function timeTicks(x0: number, x1: number): number[] {
  const span = x1 - x0;
  if (!(span > 0)) return [x0];
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400];
  const step = steps.find((s) => span / s <= 7) ?? Math.ceil(span / 7 / 86400) * 86400;
  const out: number[] = [];
  for (let t = Math.ceil(x0 / step) * step; t <= x1 + 1e-9; t += step) out.push(t);
  return out;
}

/** Splits a series into runs of consecutive non-null points. */
function segments(x: number[], values: (number | null)[]): [number, number][][] {
  const runs: [number, number][][] = [];
  let cur: [number, number][] = [];
  for (let i = 0; i < x.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || !Number.isFinite(v)) {
      if (cur.length) runs.push(cur);
      cur = [];
    } else {
      cur.push([x[i], v]);
    }
  }
  if (cur.length) runs.push(cur);
  return runs;
}

/** Thins long series to at most `maxPoints` points, combining each group by mean or max. */
function thin(x: number[], series: ChartSeries[], maxPoints: number): { x: number[]; series: ChartSeries[] } {
  if (x.length <= maxPoints) return { x, series };
  const group = Math.ceil(x.length / maxPoints);
  const nx: number[] = [];
  for (let i = 0; i < x.length; i += group) nx.push(x[Math.min(x.length - 1, i + group - 1)]);
  const ns = series.map((s) => {
    const values: (number | null)[] = [];
    for (let i = 0; i < x.length; i += group) {
      const chunk = s.values.slice(i, i + group).filter((v): v is number => v !== null && Number.isFinite(v));
      if (chunk.length === 0) values.push(null);
      else if (s.aggregate === 'max') values.push(Math.max(...chunk));
      else values.push(chunk.reduce((a, b) => a + b, 0) / chunk.length);
    }
    return { ...s, values };
  });
  return { x: nx, series: ns };
}

function defaultFormat(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return v.toLocaleString('en-US', { maximumFractionDigits: 0 });
  if (Math.abs(v) >= 10) return String(Number(v.toFixed(1)));
  return String(Number(v.toPrecision(3)));
}

/** Rounds a coordinate to 0.1 px to keep the markup short. */
function r(v: number): number {
  return Math.round(v * 10) / 10;
}
