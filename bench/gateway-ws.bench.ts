/**
 * Portico end to end through its sylkRTC WebSocket door, each figure beside a peer measured in the
 * same run:
 *
 *   1. new registrations/s: sylkRTC-2 clients (account-add with the HA1, account-register, wait for
 *      `registered`) → Portico → Kamailio (digest) vs SIPp registering directly with that Kamailio;
 *   2. call setups/s (signalling only): session-create with a static WebRTC offer → Portico → SIPp
 *      UAS (180, 200, waits for the BYE) → `accepted` → session-terminate → `terminated`, vs a SIPp
 *      UAC calling the same SIPp UAS;
 *   3. memory of the gateway per connected, registered account with 10,000 of them (heap and RSS
 *      after full collections);
 *   4. latency a request gains through the gateway (p50, p99) at half the measured maximum rate:
 *      the client's time from the request to its outcome, minus what SIP took for that very
 *      request at the gateway's UDP socket; SIPp-direct's response times at the same rate beside it.
 *
 *   node --expose-gc --import tsx bench/gateway-ws.bench.ts [--accounts 10000] [--window 64]
 *       [--call-window 64] [--seconds 3] [--latency-seconds 2] [--sipp-rate 20000]
 *       [--profile DIR] [--heap-snapshot FILE]
 *
 * The gateway is `startGatewayService` (what `portico gateway` runs, metrics on, log level warn) in
 * a child process, so its memory and CPU are its own; the clients (the `ws` package) run here, one
 * WebSocket and one account each, as browsers would. Every process shares the machine's cores, so
 * rates are lower bounds; the ratios and the CPU per request are what carry over. Each run also
 * reports how many cores the machine's other processes kept busy meanwhile (`otherCores`), and the
 * gateway's event-loop delay while idle (`idleLoopDelayMs`): the floor any latency here stands on.
 *
 * `--profile DIR` writes CPU profiles of the gateway during each run (`DIR/registrations.cpuprofile`,
 * `DIR/registration-latency.cpuprofile`, `DIR/calls.cpuprofile`, `DIR/call-latency.cpuprofile`); `--heap-snapshot FILE` writes a heap
 * snapshot of the gateway with the accounts registered (use a smaller `--accounts` for it).
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_DOOR_OPTIONS } from '../src/api/sylkrtc/index.ts';
import { Kamailio } from '../test/interop/peers/kamailio.ts';
import { cpuTimeMs, makeTempDir } from '../test/interop/peers/processes.ts';
import { Sipp, type SippOptions } from '../test/interop/peers/sipp.ts';
import { GatewayProcess, type ChildSnapshot, type ProbeRecord } from './lib/gateway-process.ts';
import { SylkLoadClient } from './lib/sylkrtc-load-client.ts';

const { values } = parseArgs({
  options: {
    accounts: { type: 'string', default: '10000' },
    window: { type: 'string', default: '64' },
    'call-window': { type: 'string', default: '64' },
    seconds: { type: 'string', default: '3' },
    'latency-seconds': { type: 'string', default: '2' },
    'sipp-rate': { type: 'string', default: '20000' },
    profile: { type: 'string' },
    'heap-snapshot': { type: 'string' },
  },
});
const ACCOUNTS = Number(values.accounts);
const WINDOW = Number(values.window);
const CALL_WINDOW = Number(values['call-window']);
const SECONDS = Number(values.seconds);
const LATENCY_SECONDS = Number(values['latency-seconds']);
const SIPP_RATE = Number(values['sipp-rate']);
const LATENCY_MAX_REQUESTS = 6000;
const WARMUP_ACCOUNTS = 500;
const PASSWORD = 'bench-secret';
const DOMAIN = 'portico.test';
/** The gateway's default T4: a UDP non-INVITE client transaction lingers this long (Timer K). */
const T4_MS = 5000;

const progress = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
const logDir = makeTempDir('bench-gateway-ws');

function ha1(user: string): string {
  return createHash('md5').update(`${user}:${DOMAIN}:${PASSWORD}`).digest('hex');
}

function quantiles(samples: number[]): { p50: number; p99: number; n: number } {
  if (samples.length === 0) return { p50: NaN, p99: NaN, n: 0 };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => Number(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2));
  return { p50: at(0.5), p99: at(0.99), n: sorted.length };
}

const cpuMs = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user - a.user + b.system - a.system) / 1000;

/** Busy CPU time of the whole machine so far, ms (/proc/stat: user, nice, system, irq, softirq, steal). */
function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  return ((f[1] ?? 0) + (f[2] ?? 0) + (f[3] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0) + (f[8] ?? 0)) * 10;
}

/** Datagrams the kernel dropped on the UDP sockets bound to `port` (a full receive buffer), from /proc/net/udp. */
function udpDrops(port: number): number {
  let drops = 0;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 13 && parseInt(f[1]!.split(':')[1]!, 16) === port) drops += Number(f[f.length - 1]);
  }
  return drops;
}

/** UDP receive drops per named port from `start()` to the call of the function it returns. */
function dropMeter(ports: Record<string, number>): () => Record<string, number> {
  const before = Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, udpDrops(port)]));
  return () => Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, udpDrops(port) - before[name]!]));
}

const describeDrops = (d: Record<string, number>) =>
  Object.entries(d)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');

/**
 * How many cores processes other than this benchmark's (this process, the gateway, the peers in
 * `pids`) kept busy from `start()` to the call of the function it returns.
 */
function otherCores(pids: () => number[]): () => number {
  const ours = () => cpuTimeMs([process.pid, ...pids()]);
  const machine0 = machineBusyMs();
  const ours0 = ours();
  const t0 = now();
  return () => Number(Math.max(0, (machineBusyMs() - machine0 - (ours() - ours0)) / (now() - t0)).toFixed(2));
}

/**
 * A static WebRTC offer as a browser would send (Opus and PCMU over UDP/TLS/RTP/SAVPF, ICE
 * credentials, a DTLS fingerprint, one host candidate): the gateway carries it to SIP unchanged.
 */
function webrtcOffer(): string {
  const hex = (n: number) => randomBytes(n).toString('hex');
  const fingerprint = randomBytes(32).toString('hex').toUpperCase().match(/../g)!.join(':');
  return [
    'v=0',
    `o=- ${BigInt(`0x${hex(7)}`)} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=msid-semantic: WMS',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 0',
    'c=IN IP4 127.0.0.1',
    'a=rtcp:9 IN IP4 0.0.0.0',
    'a=candidate:1 1 udp 2122260223 127.0.0.1 9 typ host',
    'a=end-of-candidates',
    `a=ice-ufrag:${hex(4)}`,
    `a=ice-pwd:${hex(12)}`,
    'a=ice-options:trickle',
    `a=fingerprint:sha-256 ${fingerprint}`,
    'a=setup:actpass',
    'a=mid:0',
    'a=sendrecv',
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'a=rtpmap:0 PCMU/8000',
    '',
  ].join('\r\n');
}
const OFFER = webrtcOffer();

// --- SIPp ---------------------------------------------------------------------------------

/** Response times SIPp recorded (`rtd`, one sample per call with -rtt_freq 1), in ms (SIPp counts whole ms). */
function sippResponseTimes(sipp: Sipp): number[] {
  const file = readdirSync(sipp.dir).find((f) => f.endsWith('_rtt.csv'));
  if (!file) return [];
  return readFileSync(join(sipp.dir, file), 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => Number(l.split(';')[1]))
    .filter((n) => Number.isFinite(n));
}

/** SIPp as fast as `window` in flight allows, for `seconds`: calls/s it completed. */
async function sippCapacity(opts: SippOptions, seconds: number, pids: () => number[]): Promise<{ perSecond: number; ok: number; failed: number; peerCpuUs: number; otherCores: number }> {
  const sipp = new Sipp({ ...opts, rate: SIPP_RATE, calls: SIPP_RATE * (seconds + 5), traceMessages: false });
  const before = cpuTimeMs(pids());
  let others = 0;
  try {
    await sipp.start();
    const meter = otherCores(() => [...pids(), ...(sipp.pid ? [sipp.pid] : [])]);
    await sleep(seconds * 1000);
    others = meter();
  } finally {
    await sipp.stop();
  }
  const stats = sipp.stats();
  const ok = stats?.successfulCalls ?? 0;
  const elapsed = stats?.elapsedMs || seconds * 1000;
  const cpu = cpuTimeMs(pids()) - before;
  return { perSecond: Math.round((ok * 1000) / elapsed), ok, failed: stats?.failedCalls ?? 0, peerCpuUs: ok > 0 ? Math.round((cpu * 1000) / ok) : 0, otherCores: others };
}

/** SIPp at a fixed rate for `count` calls: its response times. */
async function sippAtRate(opts: SippOptions, rate: number, count: number): Promise<{ ms: { p50: number; p99: number; n: number }; failed: number }> {
  const sipp = new Sipp({ ...opts, rate, limit: Math.max(64, rate), calls: count, traceMessages: false, extraArgs: ['-trace_rtt', '-rtt_freq', '1'] });
  try {
    await sipp.start();
    await sipp.waitExit(Math.ceil((count / rate) * 1000) + 20_000);
  } finally {
    await sipp.stop();
  }
  return { ms: quantiles(sippResponseTimes(sipp)), failed: sipp.stats()?.failedCalls ?? 0 };
}

// --- clients ------------------------------------------------------------------------------

async function openClients(url: string, count: number, window: number): Promise<{ clients: SylkLoadClient[]; perSecond: number }> {
  const clients: SylkLoadClient[] = new Array(count);
  let next = 0;
  const started = now();
  await Promise.all(
    Array.from({ length: Math.min(window, count) }, async () => {
      while (next < count) {
        const i = next++;
        clients[i] = await SylkLoadClient.open(url);
      }
    }),
  );
  return { clients, perSecond: Math.round((count * 1000) / (now() - started)) };
}

function terminateAll(clients: Iterable<SylkLoadClient | undefined>): void {
  for (const c of clients) c?.terminate();
}

/** Registers account `prefix<i>` on clients[i], `window` at a time. */
async function registerAll(clients: SylkLoadClient[], prefix: string, window: number): Promise<{ ok: number; failed: number; firstFailure?: string; elapsedMs: number }> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  const secrets = clients.map((_, i) => ha1(`${prefix}${i}`));
  const started = now();
  await Promise.all(
    Array.from({ length: Math.min(window, clients.length) }, async () => {
      while (next < clients.length) {
        const i = next++;
        const outcome = await clients[i]!.register(`${prefix}${i}@${DOMAIN}`, secrets[i]!);
        if (outcome === 'registered') ok++;
        else {
          failed++;
          firstFailure ??= outcome;
        }
      }
    }),
  );
  return { ok, failed, elapsedMs: now() - started, ...(firstFailure ? { firstFailure } : {}) };
}

/** Runs `launch(i)` for i < count at `rate` per second, open loop; resolves when all have settled. */
async function paced(rate: number, count: number, launch: (i: number) => Promise<void>): Promise<void> {
  const all: Array<Promise<void>> = [];
  const started = now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(count, Math.floor(((now() - started) * rate) / 1000));
      while (all.length < due) all.push(launch(all.length));
      if (all.length >= count) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  await Promise.all(all);
}

interface CallOutcome {
  ok: boolean;
  reason: string;
  /** session-create sent → `accepted` received, ms. */
  setupMs: number;
  callId: string;
}

let sessionSeq = 0;
const sessionPrefix = randomBytes(4).toString('hex');

/** One call: session-create → accepted → session-terminate → terminated. */
function call(client: SylkLoadClient, account: string, target: string): Promise<CallOutcome> {
  return new Promise((resolve) => {
    const session = `${sessionPrefix}-${++sessionSeq}`;
    let sent = 0;
    let setupMs = NaN;
    let callId = '';
    client.watch(session, (f) => {
      if (f.event !== 'state') return;
      if (f.state === 'accepted') {
        setupMs = now() - sent;
        callId = String(f.call_id);
        client.send('session-terminate', { session });
      } else if (f.state === 'terminated') {
        client.unwatch(session);
        resolve({ ok: !Number.isNaN(setupMs), reason: String(f.reason), setupMs, callId });
      }
    });
    sent = now();
    void client.request('session-create', { account, session, uri: target, sdp: OFFER }).then((reply) => {
      if (reply.sylkrtc === 'error') {
        client.unwatch(session);
        resolve({ ok: false, reason: `error: ${String(reply.error)}`, setupMs: NaN, callId: '' });
      }
    });
  });
}

/** `clients.length` calls in flight (one per socket, back to back) for `seconds`. */
async function callLoad(clients: SylkLoadClient[], target: string, seconds: number): Promise<{ ok: number; failed: number; firstFailure?: string; elapsedMs: number }> {
  let ok = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  const started = now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    clients.map(async (client, i) => {
      while (now() < deadline) {
        const outcome = await call(client, `c${i}@${DOMAIN}`, target);
        if (outcome.ok && outcome.reason === '200 OK') ok++;
        else {
          failed++;
          firstFailure ??= outcome.reason;
        }
      }
    }),
  );
  return { ok, failed, elapsedMs: now() - started, ...(firstFailure ? { firstFailure } : {}) };
}

/** Per request: the client's time minus the SIP time the gateway's socket saw for it. */
type Quantiles = ReturnType<typeof quantiles>;

function added(totals: Map<string, number>, records: ProbeRecord[]): { total: Quantiles; sip: Quantiles; added: Quantiles } {
  const sip: number[] = [];
  const gained: number[] = [];
  for (const r of records) {
    const total = totals.get(r.key);
    if (total === undefined) continue;
    sip.push(r.sipMs);
    gained.push(total - r.sipMs);
  }
  return { total: quantiles([...totals.values()]), sip: quantiles(sip), added: quantiles(gained) };
}

/** Requests whose datagram the gateway had to send again (a lost request or response). */
function retransmitted(records: ProbeRecord[]): number {
  return records.filter((r) => r.sends > r.spans.length).length;
}

/** The client's quantiles minus SIPp-direct's at the same rate (SIPp counts whole ms). */
function minusSipp(client: Quantiles, sipp: Quantiles): { p50: number; p99: number } {
  return { p50: Number((client.p50 - sipp.p50).toFixed(2)), p99: Number((client.p99 - sipp.p99).toFixed(2)) };
}

function describeLoop(s: ChildSnapshot): string {
  const { minor, major } = s.gc;
  return `gateway event-loop delay p99 ${s.loop.p99} ms, max ${s.loop.max} ms, GC ${minor.count} minor (${minor.totalMs} ms, longest ${minor.maxMs}) and ${major.count} major (${major.totalMs} ms, longest ${major.maxMs})`;
}

// --- the run ------------------------------------------------------------------------------

const gatewayConfig = (outboundProxy: string) => ({
  http: { host: '127.0.0.1', port: 0 },
  // UDP only, as SIPp speaks it: without a TCP listener a request above 1300 bytes stays on UDP (RFC 3261 §18.1.1).
  sip: { host: '127.0.0.1', port: 0, transports: ['udp'], outboundProxy, domains: [DOMAIN] },
  log: { level: 'warn' },
});
async function profiled<T>(name: string, run: () => Promise<T>): Promise<T> {
  if (!values.profile || !gateway) return run();
  await gateway.profileStart();
  try {
    return await run();
  } finally {
    const file = join(values.profile, `${name}.cpuprofile`);
    await gateway.profileStop(file);
    progress(`      CPU profile of the gateway: ${file}`);
  }
}

const result: Record<string, unknown> = { bench: 'gateway-ws', accounts: ACCOUNTS, window: WINDOW, callWindow: CALL_WINDOW };
const benchStarted = now();
const kamailio = new Kamailio({ anyUserPassword: PASSWORD, domains: [DOMAIN], children: 4, sharedMemoryMb: 256, logLevel: -1, maxExpires: 3600 });
let gateway: GatewayProcess | undefined;
let uas: Sipp | undefined;
const live: SylkLoadClient[] = [];
try {
  await kamailio.start();
  const kamailioPids = () => kamailio.processIds();

  // 1. Registrations per second.
  progress(`[1/4] registrations: Kamailio on ${kamailio.address('udp')} (digest on every REGISTER), ${WINDOW} in flight on both paths`);
  const sipp = await sippCapacity(
    { scenario: 'uac-register', name: 'bench-register', remote: kamailio.address('udp'), limit: WINDOW, auth: { username: 'bench', password: PASSWORD } },
    SECONDS,
    kamailioPids,
  );
  progress(`      SIPp → Kamailio: ${sipp.perSecond} REGISTER/s (${sipp.ok} ok, ${sipp.failed} failed; Kamailio ${sipp.peerCpuUs} µs CPU each; other processes ${sipp.otherCores} cores)`);

  gateway = await GatewayProcess.start(gatewayConfig(`sip:${kamailio.address('udp')}`), { logFile: join(logDir, 'gateway-register.log'), signallingOnly: true });
  const gatewayStarted = now();
  // Warm up (JIT, pools), then let the un-REGISTERs of the closed warm-up sockets and their transactions end.
  const warm = await openClients(gateway.wsUrl, WARMUP_ACCOUNTS, WINDOW);
  await registerAll(warm.clients, 'w', WINDOW);
  for (const c of warm.clients) c.ws.close();
  await Promise.all(warm.clients.map((c) => c.closed));
  for (let i = 0; i < 50 && (await gateway.snapshot()).stats.connections > 0; i++) await sleep(100);
  await gateway.snapshot();
  const idleOthers = otherCores(() => [gateway!.pid, ...kamailioPids()]);
  await sleep(T4_MS + 500);
  const quiet = await gateway.snapshot();
  const idleFigures = { gatewayLoopDelayMs: quiet.loop, otherCores: idleOthers() };
  result.idle = idleFigures;
  progress(`      idle gateway: event-loop delay p99 ${quiet.loop.p99} ms, max ${quiet.loop.max} ms; other processes kept ${idleFigures.otherCores} cores busy`);
  const base = await gateway.snapshot(true);

  const opened = await openClients(gateway.wsUrl, ACCOUNTS, WINDOW);
  live.push(...opened.clients);
  const connected = await gateway.snapshot(true);
  progress(`      ${ACCOUNTS} WebSockets opened at ${opened.perSecond}/s (ready event received on each)`);

  const clientCpu0 = process.cpuUsage();
  const kam0 = cpuTimeMs(kamailioPids());
  const gw0 = await gateway.snapshot();
  const regOthers = otherCores(() => [gateway!.pid, ...kamailioPids()]);
  const regSipPorts = { gateway: gateway.sipUdpPort, kamailio: kamailio.port('udp') };
  const regDropMeter = dropMeter(regSipPorts);
  const reg = await profiled('registrations', () => registerAll(opened.clients, 'u', WINDOW));
  const regOtherCores = regOthers();
  const regDrops = regDropMeter();
  const gw1 = await gateway.snapshot();
  const kamCpu = cpuTimeMs(kamailioPids()) - kam0;
  const clientCpu = process.cpuUsage(clientCpu0);
  const regPerSecond = Math.round((reg.ok * 1000) / reg.elapsedMs);
  const registrations = {
    sippDirectPerSecond: sipp.perSecond,
    porticoPerSecond: regPerSecond,
    ratio: Number((regPerSecond / Math.max(1, sipp.perSecond)).toFixed(2)),
    registered: reg.ok,
    failed: reg.failed,
    ...(reg.firstFailure ? { firstFailure: reg.firstFailure } : {}),
    websocketsOpenedPerSecond: opened.perSecond,
    gatewayCpuMsPerRegistration: Number((cpuMs(gw0.cpu, gw1.cpu) / Math.max(1, reg.ok)).toFixed(3)),
    clientCpuMsPerRegistration: Number(((clientCpu.user + clientCpu.system) / 1000 / Math.max(1, reg.ok)).toFixed(3)),
    kamailioCpuUsPerRegistration: { sippDirect: sipp.peerCpuUs, portico: reg.ok > 0 ? Math.round((kamCpu * 1000) / reg.ok) : 0 },
    gatewayLoopDelayMs: gw1.loop,
    gatewayGc: gw1.gc,
    otherCores: { sippDirect: sipp.otherCores, portico: regOtherCores },
    udpReceiveDrops: regDrops,
  };
  result.registrations = registrations;
  progress(
    `      clients → Portico → Kamailio: ${regPerSecond} registrations/s (${reg.ok} ok, ${reg.failed} failed${reg.firstFailure ? `: ${reg.firstFailure}` : ''}), ` +
      `ratio ${registrations.ratio}; gateway ${registrations.gatewayCpuMsPerRegistration} ms CPU each, clients ${registrations.clientCpuMsPerRegistration} ms, ` +
      `Kamailio ${registrations.kamailioCpuUsPerRegistration.portico} µs; ${describeLoop(gw1)}; UDP drops: ${describeDrops(regDrops)}; other processes ${regOtherCores} cores`,
  );

  // 3. Memory with ACCOUNTS connected, registered accounts (measured before the latency run adds more).
  progress(`[2/4] memory: waiting ${T4_MS + 500} ms for the last transactions to end (Timer K = T4), then full collections`);
  await sleep(T4_MS + 500);
  const registered = await gateway.snapshot(true);
  const per = (a: number, b: number) => Math.round((b - a) / Math.max(1, reg.ok));
  const memory = {
    liveAccounts: registered.stats.registered,
    connections: registered.stats.connections,
    heapBytesPerAccount: per(base.memory.heapUsed, registered.memory.heapUsed),
    rssBytesPerAccount: per(base.memory.rss, registered.memory.rss),
    externalBytesPerAccount: per(base.memory.external, registered.memory.external),
    heapBytesPerConnectionBeforeRegistering: Math.round((connected.memory.heapUsed - base.memory.heapUsed) / ACCOUNTS),
    heapMiB: Number((registered.memory.heapUsed / 2 ** 20).toFixed(1)),
    rssMiB: Number((registered.memory.rss / 2 ** 20).toFixed(1)),
    sipTransactionsLeft: registered.stats.sipTransactions,
  };
  result.memory = memory;
  progress(
    `      ${memory.liveAccounts} registered accounts on ${memory.connections} sockets: ${memory.heapBytesPerAccount} B heap and ${memory.rssBytesPerAccount} B RSS per account ` +
      `(${memory.heapBytesPerConnectionBeforeRegistering} B heap per socket before its account; gateway heap ${memory.heapMiB} MiB, RSS ${memory.rssMiB} MiB)`,
  );
  if (values['heap-snapshot']) {
    await gateway.heapSnapshot(values['heap-snapshot']);
    progress(`      heap snapshot of the gateway: ${values['heap-snapshot']}`);
  }

  // The door pings every socket in one sweep every pingIntervalMs (counted from its start, just
  // before the gateway said ready): measure the stall of one sweep over these sockets, and keep the
  // latency run below clear of the next one.
  const pingEvery = DEFAULT_DOOR_OPTIONS.pingIntervalMs;
  const nextSweep = gatewayStarted + Math.ceil((now() - gatewayStarted + 1000) / pingEvery) * pingEvery;
  progress(`      waiting ${Math.round((nextSweep - now()) / 1000)} s for the door's WebSocket ping sweep (every ${pingEvery / 1000} s) over ${registered.stats.connections} sockets`);
  await sleep(nextSweep - now() - 1000);
  await gateway.snapshot();
  await sleep(3000);
  const sweep = await gateway.snapshot();
  result.pingSweep = { sockets: registered.stats.connections, gatewayLoopMaxMs: sweep.loop.max, gatewayGc: sweep.gc };
  progress(`      ping sweep: the gateway's event loop stalled up to ${sweep.loop.max} ms`);

  // 4a. Registration latency at half the rate just measured, with the 10,000 still connected.
  const regRate = Math.max(10, Math.round(regPerSecond / 2));
  const regCount = Math.min(LATENCY_MAX_REQUESTS, Math.round(regRate * LATENCY_SECONDS));
  const extra = await openClients(gateway.wsUrl, regCount, WINDOW);
  live.push(...extra.clients);
  const regTotals = new Map<string, number>();
  let regLatencyFailed = 0;
  await gateway.snapshot();
  await gateway.probeOn();
  const regLatencyOthers = otherCores(() => [gateway!.pid, ...kamailioPids()]);
  const regLatencyDropMeter = dropMeter(regSipPorts);
  await profiled('registration-latency', () => paced(regRate, regCount, async (i) => {
    let sent = 0;
    const outcome = await extra.clients[i]!.register(`l${i}@${DOMAIN}`, ha1(`l${i}`), () => {
      sent = now();
    });
    if (outcome === 'registered') regTotals.set(`l${i}`, now() - sent);
    else regLatencyFailed++;
  }));
  const regLatencyOtherCores = regLatencyOthers();
  const regLatencyDrops = regLatencyDropMeter();
  const regRecords = await gateway.probeOff();
  const regLoop = await gateway.snapshot();
  const regSplit = added(regTotals, regRecords);
  const sippReg = await sippAtRate(
    { scenario: 'uac-register', name: 'bench-register-rate', remote: kamailio.address('udp'), auth: { username: 'bench', password: PASSWORD } },
    regRate,
    regCount,
  );
  const registrationLatency = { rate: regRate, requests: regCount, failed: regLatencyFailed, clientMs: regSplit.total, sipAtGatewayMs: regSplit.sip, addedMs: regSplit.added, sippDirectMs: sippReg.ms, addedVsSippDirectMs: minusSipp(regSplit.total, sippReg.ms), retransmitted: retransmitted(regRecords), udpReceiveDrops: regLatencyDrops, gatewayLoopDelayMs: regLoop.loop, gatewayGc: regLoop.gc, otherCores: regLatencyOtherCores };
  progress(
    `[3/4] registration latency at ${regRate}/s (account-register → registered): client p50 ${regSplit.total.p50} / p99 ${regSplit.total.p99} ms, ` +
      `of which Kamailio (REGISTER → 401, REGISTER → 200, at the gateway's socket) p50 ${regSplit.sip.p50} / p99 ${regSplit.sip.p99} ms; ` +
      `added p50 ${regSplit.added.p50} / p99 ${regSplit.added.p99} ms; SIPp direct p50 ${sippReg.ms.p50} / p99 ${sippReg.ms.p99} ms (whole ms); ${describeLoop(regLoop)}; ${retransmitted(regRecords)} retransmitted, UDP drops: ${describeDrops(regLatencyDrops)}; other processes ${regLatencyOtherCores} cores`,
  );

  // Done with registrations: end the gateway at once (no un-REGISTER of 16,000 accounts), then the sockets.
  await gateway.stop();
  gateway = undefined;
  terminateAll(live);
  live.length = 0;
  await kamailio.stop();

  // 2. Call setups per second.
  uas = new Sipp({ scenario: 'uas-invite-wait-bye', name: 'bench-uas', traceMessages: false, service: 'svc' });
  await uas.start();
  const target = uas.uri('svc');
  const uasPids = () => (uas?.pid ? [uas.pid] : []);
  const sippCalls = await sippCapacity(
    { scenario: 'uac-invite', name: 'bench-uac-invite', remote: uas.address, service: 'svc', limit: CALL_WINDOW, vars: { holdms: 0 } },
    SECONDS,
    uasPids,
  );
  progress(`[4/4] calls: SIPp UAC → SIPp UAS: ${sippCalls.perSecond} calls/s (${sippCalls.ok} ok, ${sippCalls.failed} failed), ${CALL_WINDOW} in flight; other processes ${sippCalls.otherCores} cores`);

  gateway = await GatewayProcess.start(gatewayConfig(`sip:${uas.address}`), { logFile: join(logDir, 'gateway-calls.log'), signallingOnly: true });
  progress(`      gateway media plane: ${gateway.mediaMode} (signalling only: the offer crosses to SIP unchanged)`);
  const callers = (await openClients(gateway.wsUrl, CALL_WINDOW, CALL_WINDOW)).clients;
  live.push(...callers);
  const added0 = await Promise.all(callers.map((c, i) => c.request('account-add', { account: `c${i}@${DOMAIN}`, password: ha1(`c${i}`) })));
  const refused = added0.find((r) => r.sylkrtc !== 'ack');
  if (refused) throw new Error(`account-add refused: ${JSON.stringify(refused)}`);
  await callLoad(callers, target, 1); // warm-up
  const c0 = await gateway.snapshot();
  const callClient0 = process.cpuUsage();
  const callOthers = otherCores(() => [gateway!.pid, ...uasPids()]);
  const callSipPorts = { gateway: gateway.sipUdpPort, sippUas: uas.port };
  const callDropMeter = dropMeter(callSipPorts);
  const calls = await profiled('calls', () => callLoad(callers, target, SECONDS));
  const callOtherCores = callOthers();
  const callDrops = callDropMeter();
  const callClientCpu = process.cpuUsage(callClient0);
  const c1 = await gateway.snapshot();
  const callsPerSecond = Math.round((calls.ok * 1000) / calls.elapsedMs);
  const callFigures = {
    sippDirectPerSecond: sippCalls.perSecond,
    porticoPerSecond: callsPerSecond,
    ratio: Number((callsPerSecond / Math.max(1, sippCalls.perSecond)).toFixed(2)),
    completed: calls.ok,
    failed: calls.failed,
    ...(calls.firstFailure ? { firstFailure: calls.firstFailure } : {}),
    offerBytes: OFFER.length,
    mediaMode: gateway.mediaMode,
    gatewayCpuMsPerCall: Number((cpuMs(c0.cpu, c1.cpu) / Math.max(1, calls.ok)).toFixed(3)),
    clientCpuMsPerCall: Number(((callClientCpu.user + callClientCpu.system) / 1000 / Math.max(1, calls.ok)).toFixed(3)),
    gatewayLoopDelayMs: c1.loop,
    gatewayGc: c1.gc,
    otherCores: { sippDirect: sippCalls.otherCores, portico: callOtherCores },
    udpReceiveDrops: callDrops,
  };
  result.calls = callFigures;
  progress(
    `      clients → Portico → SIPp UAS: ${callsPerSecond} calls/s (${calls.ok} ok, ${calls.failed} failed${calls.firstFailure ? `: ${calls.firstFailure}` : ''}), ratio ${callFigures.ratio}; ` +
      `gateway ${callFigures.gatewayCpuMsPerCall} ms CPU per call, clients ${callFigures.clientCpuMsPerCall} ms; ${describeLoop(c1)}; UDP drops: ${describeDrops(callDrops)}; other processes ${callOtherCores} cores`,
  );

  // 4b. Call setup latency at half that rate.
  const callRate = Math.max(10, Math.round(callsPerSecond / 2));
  const callCount = Math.min(LATENCY_MAX_REQUESTS, Math.round(callRate * LATENCY_SECONDS));
  const idle = callers.map((_, i) => i);
  const setupTotals = new Map<string, number>();
  let callLatencyFailed = 0;
  let waitedForSocket = 0;
  const freed: Array<() => void> = [];
  await gateway.snapshot();
  await gateway.probeOn();
  const callLatencyOthers = otherCores(() => [gateway!.pid, ...uasPids()]);
  const callLatencyDropMeter = dropMeter(callSipPorts);
  await profiled('call-latency', () => paced(callRate, callCount, async () => {
    while (idle.length === 0) {
      waitedForSocket++;
      await new Promise<void>((r) => freed.push(r));
    }
    const i = idle.pop()!;
    const outcome = await call(callers[i]!, `c${i}@${DOMAIN}`, target);
    idle.push(i);
    freed.shift()?.();
    if (outcome.ok) setupTotals.set(outcome.callId, outcome.setupMs);
    else callLatencyFailed++;
  }));
  const callLatencyOtherCores = callLatencyOthers();
  const callLatencyDrops = callLatencyDropMeter();
  const callRecords = await gateway.probeOff();
  const callLoop = await gateway.snapshot();
  const callSplit = added(setupTotals, callRecords);
  const sippCallRate = await sippAtRate({ scenario: 'uac-invite', name: 'bench-uac-invite-rate', remote: uas.address, service: 'svc', vars: { holdms: 0 } }, callRate, callCount);
  const callLatency = {
    rate: callRate,
    requests: callCount,
    failed: callLatencyFailed,
    waitedForSocket,
    clientMs: callSplit.total,
    sipAtGatewayMs: callSplit.sip,
    addedMs: callSplit.added,
    sippDirectMs: sippCallRate.ms,
    addedVsSippDirectMs: minusSipp(callSplit.total, sippCallRate.ms),
    retransmitted: retransmitted(callRecords),
    udpReceiveDrops: callLatencyDrops,
    gatewayLoopDelayMs: callLoop.loop,
    gatewayGc: callLoop.gc,
    otherCores: callLatencyOtherCores,
  };
  progress(
    `      call setup latency at ${callRate}/s (session-create → accepted): client p50 ${callSplit.total.p50} / p99 ${callSplit.total.p99} ms, ` +
      `of which SIPp (INVITE → 200, at the gateway's socket) p50 ${callSplit.sip.p50} / p99 ${callSplit.sip.p99} ms; ` +
      `added p50 ${callSplit.added.p50} / p99 ${callSplit.added.p99} ms; SIPp direct p50 ${sippCallRate.ms.p50} / p99 ${sippCallRate.ms.p99} ms (whole ms); ${describeLoop(callLoop)}; ${retransmitted(callRecords)} retransmitted, UDP drops: ${describeDrops(callLatencyDrops)}; other processes ${callLatencyOtherCores} cores`,
  );
  result.latency = { registration: registrationLatency, callSetup: callLatency };

  const worstP99 = Math.max(registrationLatency.addedMs.p99, callLatency.addedMs.p99, registrationLatency.addedVsSippDirectMs.p99, callLatency.addedVsSippDirectMs.p99);
  result.targets = {
    registrationsPerSecondAtLeast5000: regPerSecond >= 5000,
    registrationsAtLeastOneThirdOfSipp: regPerSecond * 3 >= sipp.perSecond,
    callsPerSecondAtLeast2000: callsPerSecond >= 2000,
    heapPerAccountAtMost10KB: memory.heapBytesPerAccount <= 10_000,
    rssPerAccountAtMost10KB: memory.rssBytesPerAccount <= 10_000,
    addedP99Below5ms: worstP99 < 5,
  };
  result.elapsedS = Math.round((now() - benchStarted) / 1000);
  progress(`done in ${result.elapsedS} s; gateway logs in ${logDir} (kept with PORTICO_KEEP_PEER_FILES=1)`);
  console.log(JSON.stringify(result));
} finally {
  terminateAll(live);
  await gateway?.stop();
  await uas?.stop();
  await kamailio.stop();
}
