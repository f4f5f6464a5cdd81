/**
 * What the media plane costs: Portico's bridge against a bare werift relay doing the same work,
 * in the same run, on the same machine.
 *
 *   node --expose-gc --import tsx bench/media.bench.ts [--seconds 5] [--steps 100,200,...]
 *        [--werift-steps 50,100,...] [--setups 100] [--window 16] [--engines bridge,werift]
 *        [--echo node|sipp] [--cpu-prof]
 *
 * Per engine, in its own process (bench/lib/media-relay-child.ts):
 * 1. media setups per second: `--setups` emulated browsers, `--window` at a time, each sending an
 *    offer, taking the answer and completing ICE and DTLS-SRTP; the relay's CPU per setup;
 * 2. memory per call: the relay's RSS and heap+external after GC, per call set up (idle), and
 *    again at the largest load (with media);
 * 3. concurrent calls in steps: every call sends an Opus-sized SRTP packet every 20 ms; the relay
 *    decrypts it and sends it as plain RTP to the SIP side, an echo that returns it; the relay
 *    encrypts it back to the browser. Per step: the relay's CPU (% of one core), end-to-end packet
 *    loss (sent by the browsers vs. returned to them, counted between two drained pauses), kernel
 *    drops per socket owner, event-loop delay, and how long the relay waited for a CPU (other work
 *    on the machine). Steps stop at the first with ≥ 0.1 % loss, a relay above 97 % of a core, or a
 *    generator that cannot send the nominal rate any more.
 * "Calls one core holds" is the largest step that held; "calls per core by CPU" divides one core by
 * the relay's CPU per call at that step (its CPU per relayed packet × 100 packets a second).
 *
 * The browsers are emulated (bench/lib/media-browser.ts) in this process: Chromium with hundreds of
 * RTCPeerConnections would encode and decode Opus per connection on the same two cores, and
 * werift's RTCPeerConnection as the client would cost as much as the relay it measures.
 *
 * The echo (`--echo node`, the default) is a UDP socket with a 4 MB receive buffer in its own
 * process; `--echo sipp` uses SIPp's -rtp_echo instead, whose default-sized buffer overflows when
 * a relay stalled by other work on the machine sends its backlog at once.
 *
 * Targets: ≥ 300 concurrent bridged calls per core under 0.1 % loss, ≤ 0.5 MB per bridged call,
 * ≥ 50 media setups per second. Figures are for this machine, shared with other work: the ratio to
 * werift is what carries over.
 */
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createDtlsCertificate, type DtlsCertificate } from '../src/media/certificate.ts';
import { Sipp } from '../test/interop/peers/sipp.ts';
import { EmulatedBrowser } from './lib/media-browser.ts';
import { summarizeProfile, type ProfileSummary } from './lib/media-profile.ts';
import { EchoProcess } from './lib/media-echo.ts';
import { RelayProcess, type RelayEngine, type RelayStats } from './lib/media-relay.ts';
import { schedStat, sumDrops, udpDropsByPort } from './lib/media-udp-drops.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    settle: { type: 'string', default: '1500' },
    steps: { type: 'string', default: '100,200,300,400,500,600,800' },
    'werift-steps': { type: 'string', default: '50,100,150,200,250,300' },
    setups: { type: 'string', default: '100' },
    echo: { type: 'string', default: 'node' },
    window: { type: 'string', default: '16' },
    engines: { type: 'string', default: 'bridge,werift' },
    'cpu-prof': { type: 'boolean', default: false },
    'max-loss': { type: 'string', default: '0.001' },
  },
});
const SECONDS = Number(values.seconds);
const SETTLE_MS = Number(values.settle);
const SETUPS = Number(values.setups);
const ECHO = values.echo as 'node' | 'sipp';
const WINDOW = Number(values.window);
const MAX_LOSS = Number(values['max-loss']);
const ENGINES = values.engines!.split(',') as RelayEngine[];
const STEPS: Record<RelayEngine, number[]> = {
  bridge: values.steps!.split(',').map(Number),
  werift: values['werift-steps']!.split(',').map(Number),
};
/** The relay counts as saturated above this share of one core. */
const SATURATED_PCT = 97;
const PACKET_MS = 20;
const GROUPS = 4;

const progress = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, d = 1) => Number(n.toFixed(d));

/** Sends one packet per call every 20 ms, the calls spread over four 5 ms slots. */
class Pacer {
  readonly calls: EmulatedBrowser[] = [];
  /** Times the pacer found itself more than 100 ms behind and skipped ahead. */
  skipped = 0;
  private timer: NodeJS.Timeout | undefined;
  private due: number[] = [];

  /** Starts (or resumes) sending, without making up for a pause. */
  start(): void {
    if (this.timer) return;
    const now = performance.now();
    this.due = Array.from({ length: GROUPS }, (_, g) => now + (g * PACKET_MS) / GROUPS);
    this.timer = setInterval(() => this.tick(), PACKET_MS / GROUPS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const now = performance.now();
    for (let g = 0; g < GROUPS; g++) {
      if (now - this.due[g]! > 100) {
        this.skipped++;
        this.due[g] = now;
      }
      while (now >= this.due[g]!) {
        for (let i = g; i < this.calls.length; i += GROUPS) this.calls[i]!.sendOne();
        this.due[g]! += PACKET_MS;
      }
    }
  }
}

interface StepResult {
  calls: number;
  seconds: number;
  relayCpuPct: number;
  relayCpuPctPerCall: number;
  sentPerSecond: number;
  /** Packets the relay forwarded, both directions. */
  relayedPerSecond: number;
  /** Relay CPU per forwarded packet, µs. */
  relayUsPerPacket: number;
  lossPct: number;
  callsWithoutAudio: number;
  drops: { relay: number; echo: number; browsers: number };
  relayLoopP99Ms: number;
  relayLoopMaxMs: number;
  /** Share of the window the relay's main thread was runnable but waiting for a CPU (the machine's other work). */
  relayWaitingForCpuPct: number;
  generatorWaitingForCpuPct: number;
  generatorCpuPct: number;
  echoCpuPct: number | null;
  generatorLoopP99Ms: number;
  pacerSkips: number;
  sampledBad: number;
  held: boolean;
  /** The generator sent under 95 % of the nominal packet rate. */
  generatorShort: boolean;
}

interface EngineResult {
  engine: RelayEngine;
  setups: { count: number; failed: number; seconds: number; perSecond: number; relayCpuMsPerSetup: number };
  memory: { idleCalls: number; rssBytesPerCall: number; heapBytesPerCall: number; loadedCalls: number; loadedRssBytesPerCall: number; loadedHeapBytesPerCall: number };
  steps: StepResult[];
  /** Largest step with < 0.1 % loss and the relay below saturation. */
  heldCalls: number;
  /** What ended the steps. */
  limitedBy: string;
  /** Calls at 100 % of one core, at the CPU per packet of the largest held step. */
  callsPerCoreByCpu: number;
  /** CPU per call at that step, % of one core. */
  cpuPctPerCall: number;
  /** Relay CPU per relayed packet at that step, µs. */
  usPerPacket: number;
  profile?: ProfileSummary;
}

interface Echo {
  port: number;
  /** CPU (µs) of the echo process, when it is ours. */
  cpuUs(): Promise<number | undefined>;
}

async function runEngine(engine: RelayEngine, echo: Echo, certificate: DtlsCertificate): Promise<EngineResult> {
  const sinkPort = echo.port;
  const profileDir = values['cpu-prof'] ? mkdtempSync(join(tmpdir(), `portico-media-prof-${engine}-`)) : undefined;
  const relay = await RelayProcess.start(engine, sinkPort, profileDir);
  const pacer = new Pacer();
  const browsers: EmulatedBrowser[] = [];
  let nextId = 0;
  let failed = 0;
  let lastError = '';

  /** Waits until nothing has arrived for 150 ms (at most 2 s): every packet sent is back or lost. */
  const drain = async (): Promise<void> => {
    const deadline = performance.now() + 2000;
    let last = -1;
    for (;;) {
      const now = browsers.reduce((s, b) => s + b.counters.received, 0);
      if (now === last || performance.now() > deadline) return;
      last = now;
      await sleep(150);
    }
  };

  /** Sets up `count` calls, `WINDOW` at a time; each is paced once connected. */
  const addCalls = async (count: number): Promise<void> => {
    let started = 0;
    const worker = async () => {
      while (started < count) {
        started++;
        const b = new EmulatedBrowser({ certificate });
        try {
          await b.bind();
          const answer = await relay.setup(`call-${nextId++}`, b.offer());
          await b.connect(answer, 15_000);
          browsers.push(b);
          pacer.calls.push(b);
        } catch (err) {
          failed++;
          lastError = err instanceof Error ? `${err.name}: ${err.message || err.stack?.split('\n')[1]?.trim() || 'no message'}` : String(err);
          b.close();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(WINDOW, count) }, worker));
  };

  try {
    // 1. Setups, with no media yet.
    const base = await relay.gc();
    const s0 = await relay.stats();
    const t0 = performance.now();
    await addCalls(SETUPS);
    const setupSeconds = (performance.now() - t0) / 1000;
    const s1 = await relay.stats();
    const setups = {
      count: browsers.length,
      failed,
      seconds: round(setupSeconds, 2),
      perSecond: round(browsers.length / setupSeconds),
      relayCpuMsPerSetup: round((s1.cpuUs - s0.cpuUs) / 1000 / Math.max(1, browsers.length), 2),
    };
    progress(`${engine}: ${setups.count} setups in ${setups.seconds} s = ${setups.perSecond}/s (window ${WINDOW}), relay CPU ${setups.relayCpuMsPerSetup} ms per setup, ${failed} failed${failed ? ` (${lastError})` : ''}`);
    if (browsers.length === 0) throw new Error(`${engine}: no call could be set up: ${lastError}`);

    // 2. Memory per idle call.
    const idle = await relay.gc();
    const per = (s: RelayStats, key: 'rss' | 'heap') =>
      Math.round((key === 'rss' ? s.rss - base.rss : s.heapUsed + s.external - base.heapUsed - base.external) / Math.max(1, s.calls - base.calls));
    const memory = { idleCalls: idle.calls, rssBytesPerCall: per(idle, 'rss'), heapBytesPerCall: per(idle, 'heap'), loadedCalls: 0, loadedRssBytesPerCall: 0, loadedHeapBytesPerCall: 0 };
    progress(`${engine}: memory after GC with ${idle.calls} idle calls: RSS ${(memory.rssBytesPerCall / 1024).toFixed(0)} KiB/call, heap+external ${(memory.heapBytesPerCall / 1024).toFixed(0)} KiB/call`);

    // 3. Load steps.
    pacer.start();
    const steps: StepResult[] = [];
    let limitedBy = 'largest step reached';
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    // Steps below the calls already set up are measured at that count, once.
    const targets = [...new Set(STEPS[engine].map((n) => Math.max(n, browsers.length)))];
    for (const target of targets) {
      if (browsers.length < target) await addCalls(target - browsers.length);
      if (browsers.length < target * 0.98) {
        progress(`${engine}: only ${browsers.length} of ${target} calls set up (${failed} failed, last: ${lastError}); stopping`);
        limitedBy = 'setups failing under load';
        break;
      }
      await sleep(SETTLE_MS);
      const sum = (f: (b: EmulatedBrowser) => number) => browsers.reduce((s, b) => s + f(b), 0);
      // Counted between two drained pauses, so no packet is in flight at either end of the window.
      pacer.stop();
      await drain();
      const ports = { browsers: browsers.map((b) => b.port) };
      const d0 = udpDropsByPort();
      const sent0 = sum((b) => b.counters.sent);
      const recv0 = browsers.map((b) => b.counters.received);
      const bad0 = sum((b) => b.counters.bad);
      const skip0 = pacer.skipped;
      const r0 = await relay.stats();
      const e0 = await echo.cpuUs();
      const c0 = process.cpuUsage();
      const g0 = schedStat();
      loop.reset();
      const w0 = performance.now();
      pacer.start();
      await sleep(SECONDS * 1000);
      pacer.stop();
      const wall = (performance.now() - w0) / 1000;
      const c = process.cpuUsage(c0);
      const g1 = schedStat();
      const r1 = await relay.stats();
      const e1 = await echo.cpuUs();
      await drain();
      pacer.start();
      const d1 = udpDropsByPort();
      const sent = sum((b) => b.counters.sent) - sent0;
      const received = sum((b) => b.counters.received) - recv0.reduce((s, n) => s + n, 0);
      const silent = browsers.filter((b, i) => b.counters.received === recv0[i]).length;
      const drops = (p: number[]) => sumDrops(d1, p) - sumDrops(d0, p);
      const relayCpuPct = (r1.cpuUs - r0.cpuUs) / 1e4 / wall;
      const relayed = r1.counters.fromBrowsers + r1.counters.toBrowsers - r0.counters.fromBrowsers - r0.counters.toBrowsers;
      const lossPct = sent > 0 ? Math.max(0, (100 * (sent - received)) / sent) : 100;
      const step: StepResult = {
        calls: browsers.length,
        seconds: round(wall, 2),
        relayCpuPct: round(relayCpuPct),
        relayCpuPctPerCall: round(relayCpuPct / browsers.length, 3),
        sentPerSecond: Math.round(sent / wall),
        relayedPerSecond: Math.round(relayed / wall),
        relayUsPerPacket: round((r1.cpuUs - r0.cpuUs) / Math.max(1, relayed), 2),
        lossPct: round(lossPct, 3),
        callsWithoutAudio: silent,
        drops: { relay: drops(r1.ports), echo: drops([sinkPort, sinkPort + 2]), browsers: drops(ports.browsers) },
        relayLoopP99Ms: round(r1.loopP99Ms),
        relayLoopMaxMs: round(r1.loopMaxMs),
        relayWaitingForCpuPct: round((r1.waitNs - r0.waitNs) / 1e7 / wall),
        generatorWaitingForCpuPct: round((g1.waitNs - g0.waitNs) / 1e7 / wall),
        generatorCpuPct: round((c.user + c.system) / 1e4 / wall),
        echoCpuPct: e0 !== undefined && e1 !== undefined ? round((e1 - e0) / 1e4 / wall) : null,
        generatorLoopP99Ms: round(loop.percentile(99) / 1e6),
        pacerSkips: pacer.skipped - skip0,
        sampledBad: sum((b) => b.counters.bad) - bad0,
        held: false,
        generatorShort: false,
      };
      step.held = step.lossPct < MAX_LOSS * 100 && step.relayCpuPct < SATURATED_PCT && step.callsWithoutAudio === 0;
      // Fewer packets than the calls should send: this machine could not generate the load, whatever the relay does.
      step.generatorShort = sent < 0.95 * step.calls * (1000 / PACKET_MS) * wall;
      steps.push(step);
      progress(
        `${engine}: ${step.calls} calls: relay CPU ${step.relayCpuPct}% of a core (${step.relayCpuPctPerCall}%/call, ${step.relayUsPerPacket} µs/packet), ` +
          `${step.sentPerSecond} pkt/s sent, loss ${step.lossPct}% (kernel drops relay ${step.drops.relay}, echo ${step.drops.echo}, browsers ${step.drops.browsers}), ` +
          `relay loop p99 ${step.relayLoopP99Ms} ms (waited for a CPU ${step.relayWaitingForCpuPct}% of the time), generator CPU ${step.generatorCpuPct}%${step.echoCpuPct !== null ? ` echo ${step.echoCpuPct}%` : ''} lag p99 ${step.generatorLoopP99Ms} ms${step.pacerSkips ? ` skips ${step.pacerSkips}` : ''}` +
          `${step.sampledBad ? `, ${step.sampledBad} bad samples` : ''}${step.held ? '' : ' — not held'}`,
      );
      if (!step.held) {
        limitedBy = step.lossPct >= MAX_LOSS * 100 ? `loss ${step.lossPct}%` : step.callsWithoutAudio > 0 ? 'calls without audio' : 'relay CPU saturated';
        break;
      }
      if (step.generatorShort) {
        progress(`${engine}: the generator sent ${step.sentPerSecond} pkt/s of ${step.calls * (1000 / PACKET_MS)}; the machine is too busy to go further`);
        limitedBy = 'load generator (machine busy)';
        break;
      }
    }
    loop.disable();
    pacer.stop();
    await sleep(200);
    const loaded = await relay.gc();
    memory.loadedCalls = loaded.calls;
    memory.loadedRssBytesPerCall = per(loaded, 'rss');
    memory.loadedHeapBytesPerCall = per(loaded, 'heap');

    const heldSteps = steps.filter((s) => s.held);
    // CPU per relayed packet at the largest held step (total CPU over packets, so timers and other
    // fixed work are in it), scaled to a call: 100 packets a second through the relay, 50 each way.
    // Per packet rather than per call, so a step where the generator fell short still counts right.
    const top = heldSteps.at(-1);
    const perCall = top ? (top.relayUsPerPacket * 2 * (1000 / PACKET_MS)) / 1e4 : 0;
    const result: EngineResult = {
      engine,
      setups,
      memory,
      steps,
      heldCalls: top?.calls ?? 0,
      limitedBy,
      callsPerCoreByCpu: perCall > 0 ? Math.floor(100 / perCall) : 0,
      cpuPctPerCall: round(perCall, 3),
      usPerPacket: top?.relayUsPerPacket ?? 0,
    };
    for (const b of browsers) b.close();
    await relay.close();
    if (profileDir) result.profile = summarizeProfile(profileDir);
    return result;
  } finally {
    pacer.stop();
    for (const b of browsers) b.close();
    await relay.close();
  }
}

async function main(): Promise<void> {
  const certificate = await createDtlsCertificate();
  const loadBefore = loadavg()[0]!;
  // The SIP side returns every RTP packet to where it came from.
  let echo: Echo;
  let closeEcho: () => Promise<unknown>;
  if (ECHO === 'sipp') {
    const sipp = new Sipp({ scenario: 'uas', name: 'media-echo', traceMessages: false, extraArgs: ['-rtp_echo'] });
    await sipp.start();
    echo = { port: sipp.mediaPort, cpuUs: async () => undefined };
    closeEcho = () => sipp.stop();
  } else {
    const node = await EchoProcess.start();
    echo = { port: node.port, cpuUs: async () => (await node.stats()).cpuUs };
    closeEcho = () => node.close();
  }
  const results: Partial<Record<RelayEngine, EngineResult>> = {};
  try {
    for (const engine of ENGINES) results[engine] = await runEngine(engine, echo, certificate);
  } finally {
    await closeEcho();
  }
  const b = results.bridge;
  const w = results.werift;
  const ratio = (x: number | undefined, y: number | undefined) => (x && y ? round(x / y, 2) : null);
  if (b) {
    progress(
      `bridge: ${b.heldCalls} calls held under ${MAX_LOSS * 100}% loss (largest step tried: ${b.steps.at(-1)?.calls}, limited by ${b.limitedBy}); ` +
        `${b.usPerPacket} µs per relayed packet = ${b.cpuPctPerCall}% of a core per call → ${b.callsPerCoreByCpu} calls per core by CPU; ` +
        `${b.setups.perSecond} setups/s; ${(b.memory.loadedRssBytesPerCall / 1048576).toFixed(2)} MB RSS per call under load`,
    );
  }
  if (w) progress(`werift: ${w.heldCalls} calls held (limited by ${w.limitedBy}); ${w.usPerPacket} µs per relayed packet = ${w.cpuPctPerCall}% of a core per call → ${w.callsPerCoreByCpu} calls per core by CPU; ${w.setups.perSecond} setups/s`);
  for (const r of [b, w]) {
    if (!r?.profile) continue;
    progress(`${r.engine} profile (${r.profile.file}): ${JSON.stringify(r.profile.areas)}`);
    for (const t of r.profile.top) progress(`  ${t.pct}%  ${t.fn}`);
  }
  console.log(
    JSON.stringify({
      bench: 'media',
      generator: 'emulated browsers (own ICE-controlling agent, werift DTLS, SRTP on buffers)',
      echo: ECHO === 'sipp' ? 'SIPp -rtp_echo' : 'UDP echo process, 4 MB receive buffer',
      packet: { ms: PACKET_MS, payloadBytes: 70 },
      maxLossPct: MAX_LOSS * 100,
      // Other work on the machine: 1-minute load averages (2 cores) before and after.
      machineLoad: { before: round(loadBefore, 2), after: round(loadavg()[0]!, 2) },
      bridge: b,
      werift: w,
      ratios: {
        heldCalls: ratio(b?.heldCalls, w?.heldCalls),
        callsPerCoreByCpu: ratio(b?.callsPerCoreByCpu, w?.callsPerCoreByCpu),
        cpuPerCall: ratio(b?.cpuPctPerCall, w?.cpuPctPerCall),
        setupsPerSecond: ratio(b?.setups.perSecond, w?.setups.perSecond),
        memoryPerCall: ratio(b?.memory.loadedRssBytesPerCall, w?.memory.loadedRssBytesPerCall),
      },
      targets: {
        callsPerCore: { target: 300, heldCalls: b?.heldCalls ?? null, byCpu: b?.callsPerCoreByCpu ?? null, met: Boolean(b && b.heldCalls >= 300) },
        bytesPerCall: { target: 524288, measured: b?.memory.loadedRssBytesPerCall ?? null, met: Boolean(b && b.memory.loadedRssBytesPerCall <= 524288) },
        setupsPerSecond: { target: 50, measured: b?.setups.perSecond ?? null, met: Boolean(b && b.setups.perSecond >= 50) },
      },
    }),
  );
}

await main();
