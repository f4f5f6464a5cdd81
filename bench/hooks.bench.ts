/**
 * What REST hooks cost a call setup: latency (p50/p99 from `createCallChecked` to `established`)
 * and call setups per second with hooks on (every method sent to EchoApp running as its own
 * process on loopback: `call` awaited, CallStatusEvents and `hangup` queued) as a ratio to hooks
 * off, in the same run against the same SIPp UAS. Then the backend is killed: how long does a call
 * setup wait at most (it must stay within the hook deadline; the circuit breaker makes it fail fast).
 *
 *   node --expose-gc --import tsx bench/hooks.bench.ts [--rounds 5] [--seconds 1.5] [--window 16]
 *        [--connections 256] [--deadline 250] [--rate N] [--methods call,CallStatusEvent,...]
 *
 * `window` call setups are in flight at any time, each on its own connection; a slot's next call
 * goes over the next of its share of `connections` (a connection is one browser: it places a call
 * now and then, not hundreds per second, and its status events are delivered one at a time, in
 * order). `--connections 16` puts every call of a slot on one connection.
 *
 * The machine is shared (gateway, SIPp, the backend, and whatever else runs), so the two sides are
 * measured in interleaved rounds (off/on, then on/off, ...) and each figure is the median over the
 * rounds; the ratio and the p99 difference are the medians of the per-round pairs, so a noisy moment
 * hits one pair, not one side. A hooks-on phase ends only when its status events have left (the
 * backlog's drain time counts against its rate), so no phase inherits the previous one's traffic.
 * Each phase also reports where the CPU went (this process, EchoApp, SIPp; in % of a core and in µs
 * per call setup), the event loop's delay, and how long the main threads of this process and of
 * EchoApp waited for a CPU while ready to run (/proc/<pid>/schedstat): a gateway that waits for a
 * CPU hundreds of ms per second is measuring the machine, not the hooks. Failed call setups are
 * listed by reason (a `call` hook past the deadline fails closed; enough of them open the circuit).
 *
 * Targets: p99 with hooks ≤ p99 without + 5 ms at a fixed rate; rate with hooks ≥ 90 % of the rate
 * without; no call setup during the outage waits longer than the deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { Gateway, type Call, type Connection } from '../src/core/index.ts';
import { RestHooks, hooksConfig } from '../src/hooks/index.ts';
import { cpuTimeMs, trackChild } from '../test/interop/peers/processes.ts';
import { Sipp } from '../test/interop/peers/sipp.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '1.5' },
    window: { type: 'string', default: '16' },
    connections: { type: 'string' },
    deadline: { type: 'string', default: '250' },
    rate: { type: 'string' },
    methods: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const phaseMs = Number(values.seconds) * 1000;
const window = Number(values.window);
// Each in-flight slot cycles through its own share of the connections, so no two calls share one.
const connections = Math.max(1, Math.round(Number(values.connections ?? window * 16) / window)) * window;
const deadlineMs = Number(values.deadline);
const methods = values.methods ?? process.env.BENCH_METHODS;
const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 42000 RTP/AVP 0\r\na=sendrecv\r\n';
const progress = (line: string) => process.stderr.write(`${line}\n`);

async function startEcho(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../examples/echo-app/main.ts'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  trackChild(child);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      const m = /listening (\S+)/.exec((out += d.toString()));
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`EchoApp exited (${code})`)));
  });
  return { child, url };
}

async function gatewayFor(sipp: Sipp, hooks: RestHooks | undefined): Promise<{ gateway: Gateway; conns: Connection[] }> {
  const gateway = new Gateway({
    sip: { listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], outboundProxy: `sip:${sipp.address}` },
    closeTimeoutMs: 1000,
    ...(hooks ? { policy: hooks } : {}),
  });
  await gateway.start();
  const conns: Connection[] = [];
  for (let i = 0; i < connections; i++) {
    const conn = gateway.openConnection({ door: 'bench', remote: `127.0.0.1:${1000 + i}`, ...(hooks ? { app: 'bench' } : {}) });
    await conn.addAccountChecked({ aor: 'bench@127.0.0.1', secret: 'x', secretKind: 'password' });
    conns.push(conn);
  }
  return { gateway, conns };
}

function established(call: Call): Promise<void> {
  return new Promise((resolve, reject) => {
    call.on('state', (ev) => {
      if (ev.state === 'established') resolve();
      else if (ev.state === 'terminated') reject(new Error(ev.reason));
    });
  });
}

interface Run {
  calls: number;
  failed: number;
  /** Calls per second over the phase and the drain of its status events. */
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  /** p99 of the wait for `createCallChecked` (the `call` hook, when on). */
  askP99: number;
  /** Status events waiting when the phase ended, and how long they took to leave. */
  backlog: number;
  drainMs: number;
  /** Hook requests the backend answered during the phase and the drain. */
  hookRequests: number;
  /** CPU of this process (gateway and driver), EchoApp and SIPp, in % of one core. */
  cpuSelf: number;
  cpuEcho: number;
  cpuSipp: number;
  /** CPU time per call setup of this process and of EchoApp, µs. */
  selfUsPerCall: number;
  echoUsPerCall: number;
  /** p99 of the event loop's delay, ms. */
  loopP99: number;
  /** How long the main thread of this process and of EchoApp waited for a CPU while ready to run, ms per second. */
  waitSelf: number;
  waitEcho: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const sipp = new Sipp({ scenario: 'uas', name: 'bench-uas', traceMessages: false });
await sipp.start();
const echo = await startEcho();
const registry = new Registry();
const hooks = new RestHooks({
  config: hooksConfig({
    apps: [{ name: 'bench', url: `${echo.url}/Bench`, timeoutsMs: { default: deadlineMs }, ...(methods ? { methods: methods.split(',') as never } : {}) }],
    breaker: { failures: 5, cooldownMs: 1000 },
  }),
  registry,
});

async function hookRequestsSoFar(): Promise<number> {
  const metric = await registry.getSingleMetric('portico_hook_requests_total')?.get();
  return (metric?.values ?? []).reduce((s, v) => s + v.value, 0);
}

/** Time the main thread of `pid` has spent ready to run but waiting for a CPU, ms (/proc/<pid>/schedstat). */
function runQueueMs(pid: number | undefined): number {
  try {
    return Number(readFileSync(`/proc/${pid ?? 'self'}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return 0;
  }
}

const cpuPids = (): { echo: number[]; sipp: number[] } => ({ echo: echo.child.pid ? [echo.child.pid] : [], sipp: sipp.pid ? [sipp.pid] : [] });

/**
 * Closed loop: `window` clients, each on its own connection (as browsers are), each placing a call,
 * hanging up once it is established, and placing the next, for `ms`. With `ratePerSecond`, an open
 * loop instead: call setups start at that rate whatever the answers (the latency of a gateway that
 * is not saturated).
 */
async function drive(conns: Connection[], target: string, ms: number, label: string, ratePerSecond?: number): Promise<Run> {
  const latencies: number[] = [];
  const asks: number[] = [];
  const reasons = new Map<string, number>();
  let failed = 0;
  let n = 0;
  const pids = cpuPids();
  const cpu0 = { self: process.cpuUsage(), echo: cpuTimeMs(pids.echo), sipp: cpuTimeMs(pids.sipp) };
  const requests0 = await hookRequestsSoFar();
  const wait0 = { self: runQueueMs(process.pid), echo: runQueueMs(echo.child.pid) };
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const one = async (conn: Connection) => {
    const id = `${label}-${n++}`;
    const t0 = performance.now();
    try {
      const call = await conn.createCallChecked({ id, account: 'bench@127.0.0.1', to: target, sdp: OFFER });
      asks.push(performance.now() - t0);
      await established(call);
      latencies.push(performance.now() - t0);
      call.terminate();
    } catch (err) {
      latencies.push(performance.now() - t0);
      failed++;
      const why = (err as Error).message;
      reasons.set(why, (reasons.get(why) ?? 0) + 1);
      // A real client's next request comes over its socket: a later turn of the event loop.
      await new Promise((r) => setImmediate(r));
    }
  };
  const started = performance.now();
  const end = started + ms;
  if (ratePerSecond) {
    const pending: Promise<void>[] = [];
    for (let i = 0; performance.now() < end; i++) {
      pending.push(one(conns[i % conns.length]!));
      const next = started + ((i + 1) * 1000) / ratePerSecond;
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
    await Promise.all(pending);
  } else {
    await Promise.all(
      Array.from({ length: window }, async (_, slot) => {
        for (let k = 0; performance.now() < end; k++) await one(conns[(slot + k * window) % conns.length]!);
      }),
    );
  }
  const stopped = performance.now();
  // Let the phase's status events leave: their cost belongs to this phase, not the next.
  const backlog = hooks.queued;
  while (hooks.queued > 0 && performance.now() - stopped < 30_000) await new Promise((r) => setTimeout(r, 2));
  const drained = performance.now();
  loop.disable();
  const wall = drained - started;
  const cpuSelf = process.cpuUsage(cpu0.self);
  latencies.sort((a, b) => a - b);
  asks.sort((a, b) => a - b);
  const ok = latencies.length - failed;
  if (failed > 0 && label !== 'outage') progress(`  ${label}: ${failed} failed: ${[...reasons].map(([why, k]) => `${k}× ${why}`).join('; ')}`);
  return {
    calls: ok,
    failed,
    perSecond: Math.round((ok * 1000) / wall),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? 0,
    askP99: percentile(asks, 99),
    backlog,
    drainMs: drained - stopped,
    hookRequests: (await hookRequestsSoFar()) - requests0,
    cpuSelf: Math.round(((cpuSelf.user + cpuSelf.system) / 1000 / wall) * 100),
    cpuEcho: Math.round(((cpuTimeMs(pids.echo) - cpu0.echo) / wall) * 100),
    selfUsPerCall: Math.round((cpuSelf.user + cpuSelf.system) / Math.max(1, ok)),
    echoUsPerCall: Math.round(((cpuTimeMs(pids.echo) - cpu0.echo) * 1000) / Math.max(1, ok)),
    cpuSipp: Math.round(((cpuTimeMs(pids.sipp) - cpu0.sipp) / wall) * 100),
    loopP99: loop.percentile(99) / 1e6,
    waitSelf: Math.round(((runQueueMs(process.pid) - wait0.self) / wall) * 1000),
    waitEcho: Math.round(((runQueueMs(echo.child.pid) - wait0.echo) / wall) * 1000),
  };
}

const fmt = (r: Run) =>
  `${r.perSecond} calls/s (${r.calls} ok, ${r.failed} failed), p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms (ask ${r.askP99.toFixed(2)}), max ${r.max.toFixed(1)} ms; ` +
  `${r.hookRequests} hooks, backlog ${r.backlog} drained in ${r.drainMs.toFixed(0)} ms; CPU self ${r.cpuSelf} % (${r.selfUsPerCall} us/call), EchoApp ${r.cpuEcho} % (${r.echoUsPerCall} us/call), SIPp ${r.cpuSipp} %; loop p99 ${r.loopP99.toFixed(1)} ms; waiting for a CPU: self ${r.waitSelf} ms/s, EchoApp ${r.waitEcho} ms/s`;

/** The median of each figure over the rounds. */
function summary(runs: Run[]): Run {
  const m = (k: keyof Run) => median(runs.map((r) => r[k]));
  return {
    calls: m('calls'),
    failed: m('failed'),
    perSecond: Math.round(m('perSecond')),
    p50: m('p50'),
    p99: m('p99'),
    max: m('max'),
    askP99: m('askP99'),
    backlog: m('backlog'),
    drainMs: m('drainMs'),
    hookRequests: Math.round(m('hookRequests')),
    cpuSelf: m('cpuSelf'),
    cpuEcho: m('cpuEcho'),
    cpuSipp: m('cpuSipp'),
    selfUsPerCall: m('selfUsPerCall'),
    echoUsPerCall: m('echoUsPerCall'),
    loopP99: m('loopP99'),
    waitSelf: m('waitSelf'),
    waitEcho: m('waitEcho'),
  };
}

/** `rounds` pairs of phases, alternating which side goes first. */
async function interleaved(label: string, ms: number, ratePerSecond?: number): Promise<{ off: Run[]; on: Run[] }> {
  const offRuns: Run[] = [];
  const onRuns: Run[] = [];
  for (let i = 0; i < rounds; i++) {
    const sides = i % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
    for (const side of sides) {
      (globalThis as { gc?: () => void }).gc?.();
      const r = await drive(side === 'off' ? off.conns : on.conns, target, ms, `${label}-${side}${i}`, ratePerSecond);
      (side === 'off' ? offRuns : onRuns).push(r);
      progress(`  ${label} round ${i + 1}, hooks ${side.padEnd(3)}: ${fmt(r)}`);
    }
  }
  return { off: offRuns, on: onRuns };
}

const off = await gatewayFor(sipp, undefined);
const on = await gatewayFor(sipp, hooks);
const target = sipp.uri('uas');
try {
  progress(`SIPp UAS on ${sipp.address}; EchoApp on ${echo.url}; ${window} call setups in flight over ${connections} connections; ${rounds} rounds of ${phaseMs} ms per side${methods ? `; methods ${methods}` : ''}`);
  await drive(off.conns, target, 500, 'warm-off');
  await drive(on.conns, target, 500, 'warm-on');

  const saturated = await interleaved('saturated', phaseMs);
  const satOff = summary(saturated.off);
  const satOn = summary(saturated.on);
  const rateRatio = median(saturated.on.map((r, i) => r.perSecond / Math.max(1, saturated.off[i]!.perSecond)));
  progress(`saturated, hooks off (medians): ${fmt(satOff)}`);
  progress(`saturated, hooks on  (medians): ${fmt(satOn)}`);

  // Latency where the gateway is not saturated: a fixed rate, by default a third of the hooks-on maximum.
  const rate = values.rate ? Number(values.rate) : Math.max(10, Math.round(satOn.perSecond / 3));
  const steady = await interleaved(`at ${rate}/s`, phaseMs, rate);
  const stOff = summary(steady.off);
  const stOn = summary(steady.on);
  const p99Delta = median(steady.on.map((r, i) => r.p99 - steady.off[i]!.p99));
  progress(`at ${rate} calls/s, hooks off (medians): ${fmt(stOff)}`);
  progress(`at ${rate} calls/s, hooks on  (medians): ${fmt(stOn)}`);

  echo.child.kill('SIGKILL');
  await new Promise((r) => echo.child.once('exit', r));
  const outage = await drive(on.conns, target, 1000, 'outage');
  progress(`backend down (call fails closed, breaker after 5 failures): ${outage.failed} refused, longest wait ${outage.max.toFixed(1)} ms (deadline ${deadlineMs} ms)`);

  const brief = (r: Run) => ({ perSecond: r.perSecond, p50Ms: +r.p50.toFixed(2), p99Ms: +r.p99.toFixed(2), cpuSelf: r.cpuSelf, cpuEcho: r.cpuEcho, selfUsPerCall: r.selfUsPerCall, echoUsPerCall: r.echoUsPerCall, cpuSipp: r.cpuSipp, loopP99Ms: +r.loopP99.toFixed(1), cpuWaitSelfMsPerS: r.waitSelf, cpuWaitEchoMsPerS: r.waitEcho });
  const result = {
    bench: 'hooks',
    window,
    connections,
    rounds,
    phaseMs,
    ...(methods ? { methods } : {}),
    saturated: { hooksOff: brief(satOff), hooksOn: { ...brief(satOn), backlog: satOn.backlog, drainMs: Math.round(satOn.drainMs) } },
    steady: { ratePerSecond: rate, hooksOff: brief(stOff), hooksOn: { ...brief(stOn), askP99Ms: +stOn.askP99.toFixed(2) } },
    rateRatio: +rateRatio.toFixed(3),
    p99DeltaMs: +p99Delta.toFixed(2),
    outage: { deadlineMs, longestWaitMs: +outage.max.toFixed(1), refused: outage.failed, withinDeadline: outage.max <= deadlineMs + 20 },
    targets: { p99DeltaMs: 5, rateRatio: 0.9 },
  };
  progress(`ratio: ${(result.rateRatio * 100).toFixed(1)} % of the hooks-off rate (target ≥ 90 %); p99 at ${rate} calls/s ${p99Delta >= 0 ? '+' : ''}${result.p99DeltaMs} ms (target ≤ 5 ms); medians of ${rounds} paired rounds`);
  console.log(JSON.stringify(result));
} finally {
  await Promise.allSettled([off.gateway.close(), on.gateway.close()]);
  await hooks.close();
  if (echo.child.exitCode === null) echo.child.kill('SIGKILL');
  await sipp.stop();
}
