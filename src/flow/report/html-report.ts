import { topReasons } from './counters.ts';
import { escapeHtml, formatCount, formatElapsed, formatMs, formatPercent, formatRate, truncate } from './format.ts';
import { writeAtomically } from './json-summary.ts';
import { renderLadderSvg } from './ladder-svg.ts';
import { FAILURE_REASONS, type IntervalSnapshot, type RunSummary, type SampleLadder } from './report-types.ts';
import { renderBarChart, renderLineChart } from './svg-chart.ts';

/**
 * The self-contained HTML report: one file, no scripts, no external fonts or images, charts as
 * inline SVG. A Content-Security-Policy meta tag forbids scripts outright, and every text that came
 * from a flow, a server or the run's configuration is escaped.
 */

const COLORS = {
  attempts: '#2563eb',
  successes: '#16a34a',
  failures: '#dc2626',
  p50: '#0891b2',
  p95: '#7c3aed',
  p99: '#db2777',
  clients: '#ea580c',
};

const REASON_COLORS: Record<string, string> = {
  'status-mismatch': '#dc2626',
  timeout: '#ea580c',
  'extract-miss': '#ca8a04',
  'transport-error': '#7c3aed',
  'template-error': '#0891b2',
  'unexpected-message': '#db2777',
  'header-mismatch': '#4f46e5',
  'body-mismatch': '#0d9488',
};

export function writeHtmlReport(path: string, summary: RunSummary, intervals: IntervalSnapshot[], sampleLadders: SampleLadder[]): void {
  writeAtomically(path, renderHtmlReport(summary, intervals, sampleLadders));
}

export function renderHtmlReport(summary: RunSummary, intervals: IntervalSnapshot[], sampleLadders: SampleLadder[]): string {
  const flows = summary.byFlow.map((f) => f.flow);
  const name = (typeof summary.run.flow === 'string' && summary.run.flow) || flows.join(', ') || 'flow run';
  const body = [
    header(summary, name),
    kpis(summary),
    charts(intervals),
    stepTable(summary),
    flowTable(summary),
    failures(summary),
    ladders(sampleLadders),
    footer(summary),
  ].join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`Portico flow report — ${name}`)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function header(s: RunSummary, name: string): string {
  const verdictText = { pass: 'PASS', fail: 'FAIL', 'no-traffic': 'NO TRAFFIC', aborted: 'ABORTED' }[s.verdict] ?? s.verdict;
  const cfg: [string, string][] = Object.entries(s.run)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => configEntry(k, v as string | number | boolean));
  cfg.push(['started', s.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')]);
  cfg.push(['elapsed', formatElapsed(s.durationMs)]);
  cfg.push(['interval', formatMs(s.intervalMs)]);
  return `<header class="card head">
<div class="titlebar">
<div><div class="eyebrow">Portico flow tester · run report</div><h1>${escapeHtml(name)}</h1></div>
<div class="verdict ${escapeHtml(s.verdict)}">${escapeHtml(verdictText)}</div>
</div>
<p class="reason">${escapeHtml(s.verdictReason)}</p>
<dl class="config">${cfg.map(([k, v]) => `<div><dt>${escapeHtml(k)}</dt><dd>${escapeHtml(truncate(v, 160))}</dd></div>`).join('')}</dl>
</header>`;
}

/** A run setting for people: `rampUpMs: 10000` reads "ramp up: 10.00 s", `repeat: true` reads "repeat: yes". */
function configEntry(key: string, value: string | number | boolean): [string, string] {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  if (typeof value === 'number' && /\bms$/.test(words)) {
    return [words.replace(/\s*ms$/, ''), value === 0 ? '0' : formatMs(value)];
  }
  if (typeof value === 'boolean') return [words, value ? 'yes' : 'no'];
  return [words, String(value)];
}

function kpis(s: RunSummary): string {
  const top = topReasons(s.steps.failuresByReason)[0];
  const lat = s.steps.latencyMs;
  const tiles: [string, string, string, string?][] = [
    ['Flows', `${formatCount(s.flows.successes)} / ${formatCount(s.flows.attempts)}`, `${formatPercent(s.flows.successRatio)} completed`, s.flows.failures > 0 ? 'bad' : 'good'],
    ['Steps', formatCount(s.steps.attempts), `${formatPercent(s.steps.successRatio)} succeeded`],
    ['Failures', formatCount(s.steps.failures), top ? `most: ${top[0]}` : 'none', s.steps.failures > 0 ? 'bad' : 'good'],
    ['Step rate', `${formatRate(s.steps.rate.attemptsPerSec)}/s`, `${formatRate(s.flows.rate.attemptsPerSec)} flows/s`],
    ['Latency p95', formatMs(lat?.p95), lat ? `p50 ${formatMs(lat.p50)} · p99 ${formatMs(lat.p99)}` : 'no successful step'],
    [
      'Peak clients',
      formatCount(s.clients.maxActive),
      `${formatCount(s.clients.started)} started${s.clients.active > 0 ? ` · ${formatCount(s.clients.active)} unfinished` : ''}`,
    ],
  ];
  return `<section class="kpis">${tiles
    .map(([label, value, sub, tone]) => `<div class="kpi${tone ? ` ${tone}` : ''}"><div class="kl">${escapeHtml(label)}</div><div class="kv">${escapeHtml(value)}</div><div class="ks">${escapeHtml(sub)}</div></div>`)
    .join('')}</section>`;
}

function charts(intervals: IntervalSnapshot[]): string {
  const x = intervals.map((i) => i.elapsedMs / 1000);
  const rates = renderLineChart({
    title: 'Steps per second',
    x,
    yUnit: 'per second',
    series: [
      // Dashed, so that it stays visible where it coincides with successes/s.
      { name: 'attempts/s', color: COLORS.attempts, values: intervals.map((i) => i.rate.attemptsPerSec), dashed: true },
      { name: 'successes/s', color: COLORS.successes, values: intervals.map((i) => i.rate.successesPerSec) },
      { name: 'failures/s', color: COLORS.failures, values: intervals.map((i) => i.rate.failuresPerSec) },
    ],
  });
  const latency = renderLineChart({
    title: 'Step latency percentiles per interval',
    x,
    yUnit: 'ms',
    series: [
      { name: 'p50', color: COLORS.p50, values: intervals.map((i) => i.latency.p50), aggregate: 'max' },
      { name: 'p95', color: COLORS.p95, values: intervals.map((i) => i.latency.p95), aggregate: 'max' },
      { name: 'p99', color: COLORS.p99, values: intervals.map((i) => i.latency.p99), aggregate: 'max', dashed: true },
    ],
  });
  const clients = renderLineChart({
    title: 'Active clients',
    x,
    yUnit: 'clients',
    height: 190,
    integer: true,
    yFormat: (v) => formatCount(v),
    series: [
      { name: 'most at once', color: COLORS.clients, values: intervals.map((i) => i.intervalMaxActiveClients), aggregate: 'max', fill: true },
      { name: 'at interval end', color: '#92400e', values: intervals.map((i) => i.activeClients), dashed: true },
    ],
  });
  return `<section class="card" id="rates"><h2>Throughput</h2><p class="hint">Steps finished per interval: attempts, successes and failures per second.</p>${rates}</section>
<section class="card" id="latency"><h2>Response time</h2><p class="hint">p50, p95 and p99 of successful steps in each interval.</p>${latency}</section>
<section class="card" id="clients"><h2>Concurrent clients</h2><p class="hint">Most clients active at once in each interval, and those still active at its end.</p>${clients}</section>`;
}

function stepTable(s: RunSummary): string {
  if (s.byStep.length === 0) return `<section class="card" id="steps"><h2>Steps</h2><p class="hint">No step finished.</p></section>`;
  const rows = s.byStep
    .map((st) => {
      const l = st.latencyMs;
      const top = topReasons(st.failuresByReason)[0];
      return `<tr${st.failures > 0 ? ' class="has-fail"' : ''}>
<td class="name"><span class="flow">${escapeHtml(st.flow)}</span>${escapeHtml(st.step)}</td>
<td>${formatCount(st.attempts)}</td><td>${formatCount(st.successes)}</td><td class="${st.failures > 0 ? 'bad' : ''}">${formatCount(st.failures)}</td>
<td>${formatPercent(st.successRatio)}</td><td>${formatRate(st.rate.attemptsPerSec)}</td>
<td>${formatMs(l?.p50)}</td><td>${formatMs(l?.p90)}</td><td>${formatMs(l?.p95)}</td><td>${formatMs(l?.p99)}</td><td>${formatMs(l?.max)}</td>
<td class="reason-cell">${top ? `<span class="pill" style="--c:${reasonColor(top[0])}">${escapeHtml(top[0])} ${formatCount(top[1])}</span>` : ''}</td>
</tr>`;
    })
    .join('\n');
  return `<section class="card" id="steps"><h2>Steps</h2>
<div class="scroll"><table class="steps">
<thead><tr><th class="name">Step</th><th>Attempts</th><th>OK</th><th>Failed</th><th>Success</th><th>Rate/s</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th><th>Top failure</th></tr></thead>
<tbody>
${rows}
</tbody></table></div>
<p class="hint">Latency of successful attempts, from HDR-style histograms (within 0.8% of exact).</p></section>`;
}

function flowTable(s: RunSummary): string {
  if (s.byFlow.length === 0) return '';
  const rows = s.byFlow
    .map((f) => {
      const d = f.durationMs;
      const reasons = topReasons(f.failuresByReason)
        .map(([r, n]) => `<span class="pill" style="--c:${reasonColor(r)}">${escapeHtml(r)} ${formatCount(n)}</span>`)
        .join(' ');
      return `<tr${f.failures > 0 ? ' class="has-fail"' : ''}><td class="name">${escapeHtml(f.flow)}</td><td>${formatCount(f.attempts)}</td><td>${formatCount(f.successes)}</td><td class="${f.failures > 0 ? 'bad' : ''}">${formatCount(f.failures)}</td><td>${formatPercent(f.successRatio)}</td><td>${formatRate(f.rate.attemptsPerSec)}</td><td>${formatMs(d?.p50)}</td><td>${formatMs(d?.p95)}</td><td>${formatMs(d?.p99)}</td><td>${formatMs(d?.max)}</td><td class="reason-cell">${reasons}</td></tr>`;
    })
    .join('\n');
  return `<section class="card" id="flows"><h2>Flows</h2>
<div class="scroll"><table class="flows">
<thead><tr><th class="name">Flow</th><th>Finished</th><th>OK</th><th>Failed</th><th>Success</th><th>Rate/s</th><th>p50</th><th>p95</th><th>p99</th><th>max</th><th>Failures</th></tr></thead>
<tbody>
${rows}
</tbody></table></div>
<p class="hint">Durations of flows that completed.</p></section>`;
}

function failures(s: RunSummary): string {
  if (s.failures.length === 0) {
    const flowOnly = topReasons(s.flows.failuresByReason);
    if (flowOnly.length === 0) return `<section class="card" id="failures"><h2>Failures by reason</h2><p class="ok-note">No failures.</p></section>`;
  }
  const total = s.steps.failures;
  const bars = renderBarChart(
    'Failures by reason',
    s.failures.map((f) => ({
      label: f.reason,
      value: f.count,
      color: reasonColor(f.reason),
      note: `${formatCount(f.count)} (${formatPercent(total > 0 ? f.count / total : null)})`,
    })),
  );
  const rows = s.failures
    .map(
      (f) => `<tr><td class="name"><span class="pill" style="--c:${reasonColor(f.reason)}">${escapeHtml(f.reason)}</span></td><td>${formatCount(f.count)}</td>
<td class="wrap">${f.steps.map((st) => `${escapeHtml(st.step)} <span class="muted">(${formatCount(st.count)})</span>`).join('<br>')}</td>
<td class="wrap examples">${f.examples.map((e) => `<code>${escapeHtml(e)}</code>`).join('')}</td></tr>`,
    )
    .join('\n');
  return `<section class="card" id="failures"><h2>Failures by reason</h2>${bars}
<div class="scroll"><table class="failures"><thead><tr><th class="name">Reason</th><th>Count</th><th class="wrap">Steps</th><th class="wrap">Examples</th></tr></thead><tbody>
${rows}
</tbody></table></div></section>`;
}

function ladders(samples: SampleLadder[]): string {
  if (samples.length === 0) {
    return `<section class="card" id="ladder"><h2>Ladder diagram</h2><p class="hint">No transcript was recorded.</p></section>`;
  }
  // The first failed flow if there is one, else the first successful one.
  const main = samples.find((l) => !l.ok && l.flow !== '') ?? samples.find((l) => l.ok) ?? samples[0];
  const rest = samples.filter((l) => l !== main);
  const describe = (l: SampleLadder) =>
    `client ${l.clientId}${l.flow ? ` · ${l.flow}` : ' · unfinished'} · ${l.ok ? 'completed' : l.reason ? `failed: ${l.reason}` : 'failed'}${l.durationMs !== undefined ? ` in ${formatMs(l.durationMs)}` : ''}${l.truncated ? ' · truncated' : ''}`;
  const heading = main.ok ? 'Ladder diagram of a successful flow' : 'Ladder diagram of a failed flow';
  const more = rest
    .map(
      (l, i) => `<details><summary><span class="dot ${l.ok ? 'good' : 'bad'}"></span>${escapeHtml(describe(l))}</summary>${renderLadderSvg(l.entries, { title: describe(l), idPrefix: `ladder-${i + 1}` })}</details>`,
    )
    .join('\n');
  return `<section class="card" id="ladder"><h2>${escapeHtml(heading)}</h2>
<p class="hint">${escapeHtml(describe(main))}</p>
${renderLadderSvg(main.entries, { title: `${heading}: ${describe(main)}`, idPrefix: 'ladder-0' })}
${rest.length ? `<h3>More sample flows</h3>${more}` : ''}
</section>`;
}

function footer(s: RunSummary): string {
  const late = s.eventsAfterClose > 0 ? ` · ${formatCount(s.eventsAfterClose)} events arrived after the run closed and are not counted` : '';
  return `<footer>Generated by the Portico flow tester at ${escapeHtml(s.endedAt)}${escapeHtml(late)} · the JSON summary holds every figure and the histograms.</footer>`;
}

function reasonColor(reason: string): string {
  return REASON_COLORS[reason] ?? (FAILURE_REASONS.includes(reason as never) ? '#dc2626' : '#64748b');
}

const CSS = `
:root{--bg:#f3f5f9;--card:#fff;--ink:#0f172a;--muted:#64748b;--line:#e2e8f0;--good:#16a34a;--bad:#dc2626}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:24px 20px 40px}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:18px 22px;margin:0 0 16px;box-shadow:0 1px 2px rgba(15,23,42,.04)}
h1{margin:2px 0 0;font-size:24px;letter-spacing:-.01em}
h2{margin:0 0 6px;font-size:16px}
h3{margin:18px 0 8px;font-size:14px;color:var(--muted)}
.eyebrow{font-size:12px;text-transform:uppercase;letter-spacing:.08em;color:var(--muted)}
.titlebar{display:flex;justify-content:space-between;align-items:flex-start;gap:16px}
.verdict{font-weight:700;font-size:15px;letter-spacing:.06em;padding:8px 16px;border-radius:999px;color:#fff;background:var(--muted);white-space:nowrap}
.verdict.pass{background:var(--good)}.verdict.fail{background:var(--bad)}.verdict.aborted{background:#ea580c}
.reason{margin:8px 0 12px;color:#334155}
.config{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:8px 18px;margin:0;padding-top:12px;border-top:1px solid var(--line)}
.config dt{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
.config dd{margin:0;font-weight:600;overflow-wrap:anywhere}
.kpis{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;margin:0 0 16px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:12px 14px;border-top:3px solid #94a3b8}
.kpi.good{border-top-color:var(--good)}.kpi.bad{border-top-color:var(--bad)}
.kl{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
.kv{font-size:22px;font-weight:700;margin:2px 0;white-space:nowrap}
.ks{font-size:12px;color:var(--muted)}
.hint{color:var(--muted);margin:0 0 8px;font-size:13px}
.ok-note{color:var(--good);font-weight:600;margin:0}
svg{display:block;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
.chart .grid{stroke:#eef2f7}.chart .axis{stroke:#cbd5e1}.chart .xtick{stroke:#cbd5e1}
.chart .tick,.chart .unit{font-size:11px;fill:var(--muted)}
.chart .legend{font-size:12px;fill:#334155}
.chart .series{fill:none;stroke-width:2;stroke-linejoin:round;stroke-linecap:round}
.chart .series.dashed{stroke-dasharray:5 4}
.chart .area{opacity:.12;stroke:none}
.chart .empty{fill:var(--muted);font-size:13px}
.bars .barlabel{font-size:12px;fill:#334155}.bars .barnote{font-size:12px;fill:var(--muted)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:7px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);font-weight:600;background:#f8fafc}
th.name,td.name,th.wrap,td.wrap{text-align:left}
td.wrap{white-space:normal}
td.name .flow{display:block;font-size:11px;color:var(--muted)}
tr.has-fail td.name{box-shadow:inset 3px 0 0 var(--bad)}
td.bad{color:var(--bad);font-weight:700}
td.reason-cell{text-align:left;white-space:normal;min-width:140px}
.pill{display:inline-block;font-size:11px;font-weight:600;padding:2px 8px;border-radius:999px;color:var(--c);background:color-mix(in srgb,var(--c) 12%,white);border:1px solid color-mix(in srgb,var(--c) 30%,white)}
.muted{color:var(--muted)}
.examples code{display:block;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f8fafc;border:1px solid var(--line);border-radius:6px;padding:3px 6px;margin:2px 0;white-space:pre-wrap;overflow-wrap:anywhere}
.ladder .lifeline{stroke:#cbd5e1;stroke-width:1.5;stroke-dasharray:4 4}
.ladder .actor{fill:#eff6ff;stroke:#93c5fd}
.ladder .actor-name{font-size:13px;font-weight:600;fill:#1e3a8a}
.ladder .arrow{stroke:#475569;stroke-width:1.6;fill:none}
.ladder .arrow.failed{stroke:var(--bad);stroke-width:2}
.ladder .label{font-size:12px;font-weight:600;fill:#0f172a}
.ladder .label.failed,.ladder .time.failed{fill:var(--bad)}
.ladder .detail{font-size:11px;fill:var(--muted)}.ladder .detail.failed{fill:#b91c1c}
.ladder .time{font-size:11px;fill:var(--muted);font-variant-numeric:tabular-nums}
.ladder .lh{font-size:11px;fill:var(--muted);text-transform:uppercase;letter-spacing:.06em}
.ladder .empty{fill:var(--muted)}
details{border-top:1px solid var(--line);padding:8px 0}
summary{cursor:pointer;font-weight:600}
.dot{display:inline-block;width:8px;height:8px;border-radius:50%;margin-right:8px;background:var(--muted)}
.dot.good{background:var(--good)}.dot.bad{background:var(--bad)}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:20px}
@media (max-width:900px){.kpis{grid-template-columns:repeat(3,1fr)}}
@media print{body{background:#fff}.card{box-shadow:none;break-inside:avoid}}
`;
