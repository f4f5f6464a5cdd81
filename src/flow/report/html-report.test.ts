import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { renderHtmlReport, writeHtmlReport } from './html-report.ts';
import { renderLadderSvg } from './ladder-svg.ts';
import type { FailureReason, RunInfo } from './report-types.ts';
import { RunRecorder } from './run-recorder.ts';
import { niceTicks, renderLineChart } from './svg-chart.ts';

const dir = mkdtempSync(join(tmpdir(), 'portico-html-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A small run: 3 s, 4 clients, client 3 fails on register with a 503. */
function sampleRun(opts: { stepName?: string; flowName?: string; run?: RunInfo; failing?: boolean; label?: string } = {}) {
  let now = 0;
  const flow = opts.flowName ?? 'webrtc-rest';
  const reg = opts.stepName ?? 'register';
  const rec = new RunRecorder({ clock: () => now, run: opts.run ?? { flow, target: 'http://127.0.0.1:8080', clients: 4, rate: '2/s' } });
  for (let c = 1; c <= 4; c++) {
    now = c * 600;
    rec.clientStarted(c);
    const fail = opts.failing !== false && c === 3;
    rec.transcript(c, { at: now, from: 'client', to: 'server', label: 'POST /sessions' });
    rec.transcript(c, { at: now + 12, from: 'server', to: 'client', label: '201 Created' });
    rec.stepFinished({ flow, step: 'create channel', clientId: c, startedAt: now, durationMs: 12, outcome: 'success' });
    rec.transcript(c, { at: now + 20, from: 'client', to: 'server', label: opts.label ?? 'POST /register' });
    rec.transcript(c, { at: now + 45, from: 'server', to: 'client', label: fail ? '503 Service Unavailable' : '204 No Content', failed: fail, detail: fail ? 'expected 204, got 503' : undefined });
    const outcome: 'success' | FailureReason = fail ? 'status-mismatch' : 'success';
    rec.stepFinished({ flow, step: reg, clientId: c, startedAt: now + 20, durationMs: 25, outcome, detail: fail ? 'expected 204, got 503' : undefined });
    rec.flowFinished({ flow, clientId: c, durationMs: 45, ok: !fail, reason: fail ? 'status-mismatch' : undefined });
    rec.clientEnded(c);
  }
  now = 3000;
  rec.close();
  return rec;
}

function report(rec: RunRecorder): string {
  return renderHtmlReport(rec.summary(), rec.intervals(), rec.sampleLadders());
}

/** The markup of the first element with this class, up to its closing tag. */
function svgWithClass(html: string, cls: string, nth = 0): string {
  const parts = html.split(`<svg class="${cls}"`);
  assert.ok(parts.length > nth + 1, `no svg.${cls} #${nth}`);
  return parts[nth + 1].slice(0, parts[nth + 1].indexOf('</svg>'));
}

describe('HTML report', () => {
  it('is one self-contained document: no scripts, no external resources, scripts forbidden by CSP', () => {
    const html = report(sampleRun());
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /\s(src|href)=/i);
    assert.doesNotMatch(html, /@import|@font-face|url\(\s*['"]?https?:/i);
    const urls = html.match(/https?:\/\/[^\s"<]+/g) ?? [];
    assert.deepEqual([...new Set(urls)].sort(), ['http://127.0.0.1:8080', 'http://www.w3.org/2000/svg'], 'only the SVG namespace and the run target');
  });

  it('has a header with the run configuration and the verdict', () => {
    const html = report(sampleRun());
    assert.match(html, /<h1>webrtc-rest<\/h1>/);
    assert.match(html, /<div class="verdict fail">FAIL<\/div>/);
    assert.match(html, /<dt>target<\/dt><dd>http:\/\/127.0.0.1:8080<\/dd>/);
    assert.match(html, /<dt>rate<\/dt><dd>2\/s<\/dd>/);
    assert.match(html, /1 of 4 flows and 1 of 8 steps failed/);
    assert.match(report(sampleRun({ failing: false })), /<div class="verdict pass">PASS<\/div>/);
    const pretty = report(sampleRun({ run: { flow: 'x', rampUpMs: 10_000, durationMs: 0, repeat: true } }));
    assert.match(pretty, /<dt>ramp up<\/dt><dd>10.00 s<\/dd>/);
    assert.match(pretty, /<dt>duration<\/dt><dd>0<\/dd>/);
    assert.match(pretty, /<dt>repeat<\/dt><dd>yes<\/dd>/);
  });

  it('charts rates, latency percentiles and active clients over time as inline SVG', () => {
    const html = report(sampleRun());
    const rates = svgWithClass(html, 'chart', 0);
    assert.match(rates, /aria-label="Steps per second"/);
    for (const name of ['attempts/s', 'successes/s', 'failures/s']) assert.ok(rates.includes(`>${name}</text>`), name);
    assert.match(rates, /<path class="series[^"]*" d="M[\d.]+,[\d.]+L/);
    const latency = svgWithClass(html, 'chart', 1);
    assert.match(latency, /aria-label="Step latency percentiles per interval"/);
    for (const name of ['p50', 'p95', 'p99']) assert.ok(latency.includes(`>${name}</text>`), name);
    const clients = svgWithClass(html, 'chart', 2);
    assert.match(clients, /aria-label="Active clients"/);
    assert.match(clients, /class="area"/);
    assert.ok(clients.includes('>00:02</text>'), 'x axis in elapsed time');
  });

  it('has a per-step table with latency percentiles and the top failure, and failures by reason', () => {
    const html = report(sampleRun());
    const steps = html.slice(html.indexOf('id="steps"'), html.indexOf('id="flows"'));
    assert.match(steps, /<th>p50<\/th><th>p90<\/th><th>p95<\/th><th>p99<\/th><th>max<\/th>/);
    assert.match(steps, /<span class="flow">webrtc-rest<\/span>create channel<\/td>\n<td>4<\/td><td>4<\/td><td class="">0<\/td>/);
    assert.match(steps, /<tr class="has-fail">\n<td class="name"><span class="flow">webrtc-rest<\/span>register<\/td>\n<td>4<\/td><td>3<\/td><td class="bad">1<\/td>/);
    assert.match(steps, /status-mismatch 1<\/span>/);
    assert.match(steps, /<td>12.0 ms<\/td>/);
    const failures = html.slice(html.indexOf('id="failures"'));
    assert.match(svgWithClass(failures, 'chart bars'), />status-mismatch<\/text>/);
    assert.match(failures, /<code>register: expected 204, got 503<\/code>/);
  });

  it('draws the failed flow as a ladder: a column per participant, labelled arrows with times, the failure in red', () => {
    const html = report(sampleRun());
    assert.match(html, /<h2>Ladder diagram of a failed flow<\/h2>/);
    assert.match(html, /client 3 · webrtc-rest · failed: status-mismatch in 45.0 ms/);
    const ladder = svgWithClass(html, 'ladder');
    assert.ok(ladder.includes('>client<title>client</title></text>') && ladder.includes('>server<title>server</title></text>'));
    assert.ok(ladder.includes('>POST /sessions</text>'));
    assert.ok(ladder.includes('>+12.0 ms</text>'), 'time since the first message');
    const failed = ladder.slice(ladder.indexOf('<g class="msg failed">'));
    assert.ok(failed.length > 0 && ladder.includes('<g class="msg failed">'), 'a failed arrow group');
    assert.match(failed, /<line class="arrow failed"[^>]*marker-end="url\(#ladder-0-arrow-failed\)"/);
    assert.match(failed, /<text class="label failed"[^>]*>✕ 503 Service Unavailable<\/text>/);
    assert.match(failed, /<text class="detail failed"[^>]*>expected 204, got 503<\/text>/);
    assert.match(ladder, /<marker id="ladder-0-arrow-failed"[^>]*><path [^>]*fill="#dc2626"/);
    // The other kept samples follow, folded, with distinct marker ids.
    assert.match(html, /<details><summary><span class="dot good"><\/span>client 1 · webrtc-rest · completed/);
    assert.match(html, /id="ladder-1-arrow"/);
  });

  it('shows a successful flow when none failed', () => {
    const html = report(sampleRun({ failing: false }));
    assert.match(html, /<h2>Ladder diagram of a successful flow<\/h2>/);
    assert.doesNotMatch(svgWithClass(html, 'ladder'), /class="msg failed"/);
    assert.match(html, /<p class="ok-note">No failures.<\/p>/);
  });

  it('escapes user text everywhere: a step named <script> cannot inject', () => {
    const evil = '<script>alert(1)</script>';
    const html = report(
      sampleRun({
        stepName: evil,
        flowName: 'a&b "quoted"',
        label: '<img src=x onerror=alert(2)>',
        run: { flow: '</title><script>alert(3)</script>', note: '" onmouseover="x' },
      }),
    );
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /<img/i);
    assert.doesNotMatch(html, /" onmouseover="/);
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the step name is shown, escaped');
    assert.ok(html.includes('a&amp;b &quot;quoted&quot;'));
    assert.ok(html.includes('&lt;img src=x onerror=alert(2)&gt;'));
    assert.ok(html.includes('<title>Portico flow report — &lt;/title&gt;&lt;script&gt;alert(3)&lt;/script&gt;</title>'));
  });

  it('writes the file in one piece', () => {
    const rec = sampleRun();
    const path = join(dir, 'report.html');
    writeHtmlReport(path, rec.summary(), rec.intervals(), rec.sampleLadders());
    assert.equal(readFileSync(path, 'utf8'), report(rec));
  });

  it('copes with a run that recorded nothing', () => {
    const rec = new RunRecorder({ clock: () => 0 });
    rec.close();
    const html = report(rec);
    assert.match(html, /NO TRAFFIC/);
    assert.match(html, />no data<\/text>/);
    assert.match(html, /No transcript was recorded/);
  });
});

describe('ladder SVG', () => {
  it('orders participants by first appearance and points arrows the right way', () => {
    const svg = renderLadderSvg([
      { at: 0, from: 'UE', to: 'gateway', label: 'POST /channel' },
      { at: 5, from: 'gateway', to: 'UE', label: '201' },
      { at: 9, from: 'gateway', to: 'registrar', label: 'REGISTER' },
      { at: 30, from: 'UE', to: 'UE', label: 'timer fired', failed: true },
    ]);
    const names = [...svg.matchAll(/class="actor-name" x="([\d.]+)"[^>]*>([^<]+)</g)].map((m) => [m[2], Number(m[1])]);
    assert.deepEqual(names.map((n) => n[0]), ['UE', 'gateway', 'registrar']);
    assert.ok((names[0][1] as number) < (names[1][1] as number) && (names[1][1] as number) < (names[2][1] as number));
    const lines = [...svg.matchAll(/<line class="arrow[^"]*" x1="([\d.]+)" y1="[\d.]+" x2="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
    assert.ok(lines[0][0] < lines[0][1], 'request goes right');
    assert.ok(lines[1][0] > lines[1][1], 'response comes back left');
    assert.match(svg, /<path class="arrow failed" d="M[\d.]+,[\d.]+h36v16h-34"/, 'a message to oneself is a loop');
    assert.ok(svg.includes('>+30.0 ms</text>'));
  });
});

describe('line chart', () => {
  it('leaves gaps where a series has no value, and thins long series', () => {
    const svg = renderLineChart({ title: 't', x: [1, 2, 3, 4, 5], series: [{ name: 's', color: '#000', values: [1, 2, null, 4, 5] }] });
    assert.equal((svg.match(/<path class="series"/g) ?? []).length, 2);
    const long = renderLineChart({ title: 't', x: Array.from({ length: 5000 }, (_, i) => i), series: [{ name: 's', color: '#000', values: Array.from({ length: 5000 }, () => 1) }], maxPoints: 100 });
    const d = /<path class="series" d="([^"]+)"/.exec(long)?.[1] ?? '';
    assert.equal((d.match(/[ML]/g) ?? []).length, 100);
  });

  it('picks round y ticks covering the data', () => {
    assert.deepEqual(niceTicks(9.3), [0, 2.5, 5, 7.5, 10]);
    assert.deepEqual(niceTicks(213), [0, 100, 200, 300]);
    assert.deepEqual(niceTicks(0), [0, 1]);
    assert.deepEqual(niceTicks(1, true), [0, 1]);
    assert.deepEqual(niceTicks(9, true), [0, 2, 4, 6, 8, 10]);
  });
});
