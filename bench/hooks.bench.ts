/**
 * What REST hooks cost a call setup: latency (p50/p99 from `createCallChecked` to `established`)
 * and call setups per second with hooks on (every method sent to EchoApp running as its own
 * process on loopback: `call` awaited, CallStatusEvents and `hangup` queued) as a ratio to hooks
 * off, in the same run against the same SIPp UAS. Then the backend is killed: how long does a call
 * setup wait at most (it must stay within the hook deadline; the circuit breaker makes it fail fast).
 *
 *   node --import tsx bench/hooks.bench.ts [--seconds 3] [--window 16] [--deadline 250]
 *
 * Targets: p99 with hooks ≤ p99 without + 5 ms; rate with hooks ≥ 90 % of the rate without; no call
 * setup during the outage waits longer than the deadline. Everything shares the machine (gateway,
 * SIPp, the backend), so absolute figures are lower bounds; the ratios are what carry over.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Gateway, type Call, type Connection } from '../src/core/index.ts';
import { RestHooks, hooksConfig } from '../src/hooks/index.ts';
import { trackChild } from '../test/interop/peers/processes.ts';
import { Sipp } from '../test/interop/peers/sipp.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    window: { type: 'string', default: '16' },
    deadline: { type: 'string', default: '250' },
  },
});
const seconds = Number(values.seconds);
const window = Number(values.window);
const deadlineMs = Number(values.deadline);
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
  for (let i = 0; i < window; i++) {
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
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Closed loop: `window` clients, each on its own connection (as browsers are), each placing a call,
 * hanging up once it is established, and placing the next, for `ms`. With `ratePerSecond`, an open
 * loop instead: call setups start at that rate whatever the answers (the latency of a gateway that
 * is not saturated).
 */
async function drive(conns: Connection[], target: string, ms: number, label: string, ratePerSecond?: number): Promise<Run> {
  const latencies: number[] = [];
  let failed = 0;
  let n = 0;
  const end = performance.now() + ms;
  const one = async (conn: Connection) => {
    const id = `${label}-${n++}`;
    const t0 = performance.now();
    try {
      const call = await conn.createCallChecked({ id, account: 'bench@127.0.0.1', to: target, sdp: OFFER });
      await established(call);
      latencies.push(performance.now() - t0);
      call.terminate();
    } catch {
      latencies.push(performance.now() - t0);
      failed++;
      // A real client's next request comes over its socket: a later turn of the event loop.
      await new Promise((r) => setImmediate(r));
    }
  };
  const started = performance.now();
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
      conns.map(async (conn) => {
        while (performance.now() < end) await one(conn);
      }),
    );
  }
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  const ok = latencies.length - failed;
  return { calls: ok, failed, perSecond: Math.round((ok * 1000) / elapsed), p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? 0 };
}

const fmt = (r: Run) => `${r.perSecond} calls/s (${r.calls} ok, ${r.failed} failed), p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(1)} ms`;

const sipp = new Sipp({ scenario: 'uas', name: 'bench-uas', traceMessages: false });
await sipp.start();
const echo = await startEcho();
const hooks = new RestHooks({
  config: hooksConfig({
    apps: [{ name: 'bench', url: `${echo.url}/Bench`, timeoutsMs: { default: deadlineMs }, ...(process.env.BENCH_METHODS ? { methods: process.env.BENCH_METHODS.split(',') as never } : {}) }],
    breaker: { failures: 5, cooldownMs: 1000 },
  }),
});
const off = await gatewayFor(sipp, undefined);
const on = await gatewayFor(sipp, hooks);
const target = sipp.uri('uas');
try {
  progress(`SIPp UAS on ${sipp.address}; EchoApp on ${echo.url}; ${window} call setups in flight, ${seconds} s per phase`);
  await drive(off.conns, target, 500, 'warm-off');
  await drive(on.conns, target, 500, 'warm-on');
  // Alternate so that neither side gets the quieter part of the run.
  const offRuns: Run[] = [];
  const onRuns: Run[] = [];
  for (let i = 0; i < 2; i++) {
    offRuns.push(await drive(off.conns, target, (seconds * 1000) / 2, `off${i}`));
    onRuns.push(await drive(on.conns, target, (seconds * 1000) / 2, `on${i}`));
  }
  const merge = (runs: Run[]): Run => ({
    calls: runs.reduce((s, r) => s + r.calls, 0),
    failed: runs.reduce((s, r) => s + r.failed, 0),
    perSecond: Math.round(runs.reduce((s, r) => s + r.perSecond, 0) / runs.length),
    p50: Math.max(...runs.map((r) => r.p50)),
    p99: Math.max(...runs.map((r) => r.p99)),
    max: Math.max(...runs.map((r) => r.max)),
  });
  const hooksOff = merge(offRuns);
  const hooksOn = merge(onRuns);
  progress(`saturated, hooks off: ${fmt(hooksOff)}`);
  progress(`saturated, hooks on:  ${fmt(hooksOn)}`);
  // Latency where the gateway is not saturated: a fixed rate, a third of the hooks-on maximum.
  const rate = Math.max(10, Math.round(hooksOn.perSecond / 3));
  const steadyOff = await drive(off.conns, target, seconds * 1000, 'steady-off', rate);
  const steadyOn = await drive(on.conns, target, seconds * 1000, 'steady-on', rate);
  progress(`at ${rate} calls/s, hooks off: ${fmt(steadyOff)}`);
  progress(`at ${rate} calls/s, hooks on:  ${fmt(steadyOn)}`);

  echo.child.kill('SIGKILL');
  await new Promise((r) => echo.child.once('exit', r));
  const outage = await drive(on.conns, target, 1000, 'outage');
  progress(`backend down (call fails closed, breaker after 5 failures): ${outage.failed} refused, longest wait ${outage.max.toFixed(1)} ms (deadline ${deadlineMs} ms)`);

  const result = {
    bench: 'hooks',
    window,
    saturated: {
      hooksOff: { perSecond: hooksOff.perSecond, p50Ms: +hooksOff.p50.toFixed(2), p99Ms: +hooksOff.p99.toFixed(2) },
      hooksOn: { perSecond: hooksOn.perSecond, p50Ms: +hooksOn.p50.toFixed(2), p99Ms: +hooksOn.p99.toFixed(2) },
    },
    steady: {
      ratePerSecond: rate,
      hooksOff: { p50Ms: +steadyOff.p50.toFixed(2), p99Ms: +steadyOff.p99.toFixed(2) },
      hooksOn: { p50Ms: +steadyOn.p50.toFixed(2), p99Ms: +steadyOn.p99.toFixed(2) },
    },
    rateRatio: +(hooksOn.perSecond / Math.max(1, hooksOff.perSecond)).toFixed(3),
    p99DeltaMs: +(steadyOn.p99 - steadyOff.p99).toFixed(2),
    outage: { deadlineMs, longestWaitMs: +outage.max.toFixed(1), refused: outage.failed, withinDeadline: outage.max <= deadlineMs + 20 },
    targets: { p99DeltaMs: 5, rateRatio: 0.9 },
  };
  progress(`ratio: ${(result.rateRatio * 100).toFixed(1)} % of the hooks-off rate (target ≥ 90 %); p99 at ${rate} calls/s +${result.p99DeltaMs} ms (target ≤ 5 ms)`);
  console.log(JSON.stringify(result));
} finally {
  await Promise.allSettled([off.gateway.close(), on.gateway.close()]);
  await hooks.close();
  if (echo.child.exitCode === null) echo.child.kill('SIGKILL');
  await sipp.stop();
}
