/**
 * REGISTER transactions per second that Portico's stack completes against a SIPp registrar
 * (uas-register-loop.xml, UDP, 127.0.0.1), as a ratio to SIPp's own UAC against the same SIPp
 * registrar in the same run; and the memory one live registration (user + binding with its refresh
 * timer) costs in the stack.
 *
 *   node --import tsx bench/sip-register.bench.ts [--seconds 4] [--window 256] [--live 20000]
 *
 * Both clients share the machine with the SIPp registrar, so the figures are lower bounds; the
 * ratio is what carries over. Each run also reports the datagrams the kernel dropped at the
 * registrar's socket and ours (Linux): SIPp asks for a 64 KB receive buffer, about 100 queued
 * REGISTERs, so at 256 in flight a client faster than the registrar loses some there, and each
 * loss costs a 500 ms Timer E retransmission. SIPp's own UAC meets the same drops.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseArgs } from 'node:util';
import { SipStack, type Registration } from '../src/sip/ua/index.ts';
import { cpuTimeMs } from '../test/interop/peers/processes.ts';
import { Sipp } from '../test/interop/peers/sipp.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '4' },
    windows: { type: 'string', default: '16,64,256' },
    live: { type: 'string', default: '20000' },
    'sipp-rate': { type: 'string', default: '30000' },
  },
});
const seconds = Number(values.seconds);
const windows = values.windows!.split(',').map(Number);
const liveCount = Number(values.live);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Datagrams the kernel dropped at each local UDP port because its receive buffer was full (the
 * last column of /proc/net/udp; Linux only, empty elsewhere). A drop costs a REGISTER a 500 ms
 * Timer E retransmission, which is what a latency spike at a large window usually is.
 */
function udpDrops(): Map<number, number> {
  const out = new Map<number, number>();
  let text = '';
  try {
    text = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13) continue;
    out.set(parseInt(f[1]!.split(':')[1]!, 16), Number(f[f.length - 1]));
  }
  return out;
}

/** SIPp's UAC at a rate above what it can send: what it achieves is its ceiling. */
async function sippUac(
  registrar: string,
  registrarPort: number,
  window: number,
): Promise<{ perSecond: number; failed: number; registrarDrops: number }> {
  const rate = Number(values['sipp-rate']);
  const dropsBefore = udpDrops();
  const client = new Sipp({
    scenario: 'uac-register',
    name: 'bench-uac',
    remote: registrar,
    rate,
    limit: window,
    calls: rate * seconds,
    timeoutMs: (seconds + 2) * 1000,
    traceMessages: false,
  });
  await client.start();
  // SIPp cannot keep up with the asked rate; stop it after the run time and read what it did.
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const result = await client.stop();
  const stats = result.stats;
  const ok = stats?.successfulCalls ?? 0;
  const registrarDrops = (udpDrops().get(registrarPort) ?? 0) - (dropsBefore.get(registrarPort) ?? 0);
  return { perSecond: Math.round((ok * 1000) / (stats?.elapsedMs || seconds * 1000)), failed: stats?.failedCalls ?? 0, registrarDrops };
}

/** Our stack: `window` registrations in flight, each a new AOR r<n>, for `seconds`. */
async function porticoUac(
  registrarPort: number,
  window: number,
): Promise<{ perSecond: number; failed: number; cpuMs: number; drops: { ours: number; registrar: number }; loopDelayMs: { p99: number; max: number } }> {
  const stack = new SipStack({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], closeTimeoutMs: 0 });
  await stack.start();
  const ourPort = stack.transport.local('udp')!.port;
  let done = 0;
  let failed = 0;
  let n = 0;
  const dropsBefore = udpDrops();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  async function worker(): Promise<void> {
    while (performance.now() < deadline) {
      const user = stack.createUser({ aor: `sip:r${n++}@127.0.0.1` });
      const reg = user.registration({ registrar: `sip:127.0.0.1:${registrarPort}`, expires: 3600, retry: false });
      try {
        await reg.register();
        done++;
      } catch {
        failed++;
      }
      // Free the slot without an un-REGISTER: this measures REGISTER transactions, not pairs.
      stack.forgetUser(user);
    }
  }
  await Promise.all(Array.from({ length: window }, worker));
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  loop.disable();
  const dropsAfter = udpDrops();
  const dropped = (port: number) => (dropsAfter.get(port) ?? 0) - (dropsBefore.get(port) ?? 0);
  await stack.close();
  return {
    perSecond: Math.round((done * 1000) / elapsed),
    failed,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    drops: { ours: dropped(ourPort), registrar: dropped(registrarPort) },
    loopDelayMs: { p99: Math.round(loop.percentile(99) / 1e6), max: Math.round(loop.max / 1e6) },
  };
}

/** Heap per live registration: `liveCount` users registered and refreshing, measured after GC. */
async function memoryPerRegistration(registrarPort: number, window: number): Promise<{ bytes: number; count: number }> {
  const stack = new SipStack({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], closeTimeoutMs: 0 });
  await stack.start();
  const keep: Registration[] = [];
  gc();
  const before = process.memoryUsage().heapUsed;
  let next = 0;
  async function worker(): Promise<void> {
    while (next < liveCount) {
      const user = stack.createUser({ aor: `sip:m${next++}@127.0.0.1` });
      const reg = user.registration({ registrar: `sip:127.0.0.1:${registrarPort}`, expires: 3600, retry: false });
      await reg.register();
      keep.push(reg);
    }
  }
  await Promise.all(Array.from({ length: window }, worker));
  // Let the transactions of the last REGISTERs finish (Timer K on UDP = T4) before measuring.
  await new Promise((r) => setTimeout(r, 5500));
  gc();
  const after = process.memoryUsage().heapUsed;
  const bytes = Math.round((after - before) / keep.length);
  await stack.close();
  return { bytes, count: keep.length };
}

const registrar = new Sipp({ scenario: 'uas-register-loop', name: 'bench-registrar', traceMessages: false, deadCallWaitMs: 0 });
await registrar.start();
try {
  progress(`SIPp registrar on ${registrar.address}; ${seconds} s per run; windows ${windows.join(', ')} in flight`);
  // Each client at each window; the best of each is its capacity on this machine.
  const runs: Array<{
    window: number;
    sipp: number;
    sippRegistrarDrops: number;
    portico: number;
    porticoFailed: number;
    porticoCpuMs: number;
    porticoDrops: { ours: number; registrar: number };
    porticoLoopDelayMs: { p99: number; max: number };
  }> = [];
  for (const window of windows) {
    const sipp = await sippUac(registrar.address, registrar.port, window);
    progress(`window ${window}: SIPp UAC → SIPp UAS ${sipp.perSecond} REGISTER/s (${sipp.failed} failed, UDP drops at the registrar's socket: ${sipp.registrarDrops})`);
    const ours = await porticoUac(registrar.port, window);
    progress(
      `window ${window}: Portico UAC → SIPp UAS ${ours.perSecond} REGISTER/s (${ours.failed} failed, ${ours.cpuMs} ms CPU, ` +
        `UDP drops: ${ours.drops.ours} at our socket, ${ours.drops.registrar} at the registrar's; event loop delay p99 ${ours.loopDelayMs.p99} ms, max ${ours.loopDelayMs.max} ms)`,
    );
    runs.push({
      window,
      sipp: sipp.perSecond,
      sippRegistrarDrops: sipp.registrarDrops,
      portico: ours.perSecond,
      porticoFailed: ours.failed,
      porticoCpuMs: ours.cpuMs,
      porticoDrops: ours.drops,
      porticoLoopDelayMs: ours.loopDelayMs,
    });
  }
  const bestSipp = Math.max(...runs.map((r) => r.sipp));
  const bestPortico = Math.max(...runs.map((r) => r.portico));
  const memory = await memoryPerRegistration(registrar.port, 64);
  progress(`memory: ${memory.bytes} bytes of heap per live registration (${memory.count} live)`);
  const result = {
    bench: 'sip-register',
    seconds,
    runs,
    sippUacPerSecond: bestSipp,
    porticoUacPerSecond: bestPortico,
    ratio: Number((bestPortico / Math.max(1, bestSipp)).toFixed(2)),
    bytesPerLiveRegistration: memory.bytes,
    liveRegistrations: memory.count,
  };
  console.log(JSON.stringify(result));
} finally {
  await registrar.stop();
}
