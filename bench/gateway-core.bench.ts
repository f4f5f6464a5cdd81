/**
 * Registrations per second through Portico's core (Gateway → Connection → Account → REGISTER with
 * digest from the HA1) to Kamailio, as a ratio to SIPp registering directly with the same Kamailio
 * in the same run; and the heap one connected, registered account costs with 10,000 of them.
 *
 *   node --expose-gc --import tsx bench/gateway-core.bench.ts [--accounts 10000] [--window 64] [--sipp-rate 10000] [--seconds 3]
 *
 * Every REGISTER is challenged (401) and answered, on both paths. Each Portico account sits on a
 * connection of its own, as a browser's would. No WebSocket here: the end-to-end bench through the
 * sylkRTC door builds on this one. Everything shares the machine with Kamailio, so the figures
 * are lower bounds; the ratio is what carries over.
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Gateway, type Account } from '../src/core/index.ts';
import { Kamailio } from '../test/interop/peers/kamailio.ts';
import { cpuTimeMs } from '../test/interop/peers/processes.ts';
import { Sipp } from '../test/interop/peers/sipp.ts';

const { values } = parseArgs({
  options: {
    accounts: { type: 'string', default: '10000' },
    window: { type: 'string', default: '64' },
    'sipp-rate': { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '3' },
  },
});
const accounts = Number(values.accounts);
const window = Number(values.window);
const sippRate = Number(values['sipp-rate']);
const seconds = Number(values.seconds);
const PASSWORD = 'bench-secret';
const DOMAIN = 'portico.test';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const progress = (line: string) => process.stderr.write(`${line}\n`);

async function sippDirect(kamailio: Kamailio): Promise<{ perSecond: number; registrations: number; failed: number; kamailioCpuUs: number }> {
  const client = new Sipp({
    scenario: 'uac-register',
    name: 'bench-uac',
    remote: kamailio.address('udp'),
    rate: sippRate,
    limit: window,
    calls: Math.round(sippRate * seconds),
    traceMessages: false,
    auth: { username: 'bench', password: PASSWORD },
  });
  const cpuBefore = cpuTimeMs(kamailio.processIds());
  try {
    await client.start();
    const { stats } = await client.waitExit(seconds * 1000 + 30_000);
    const registrations = stats?.successfulCalls ?? 0;
    const elapsedMs = stats?.elapsedMs ?? 0;
    const cpu = cpuTimeMs(kamailio.processIds()) - cpuBefore;
    return {
      perSecond: elapsedMs > 0 ? Math.round((registrations * 1000) / elapsedMs) : 0,
      registrations,
      failed: stats?.failedCalls ?? 0,
      kamailioCpuUs: registrations > 0 ? Math.round((cpu * 1000) / registrations) : 0,
    };
  } finally {
    await client.stop();
  }
}

async function throughCore(kamailio: Kamailio): Promise<{ perSecond: number; registered: number; failed: number; bytesPerAccount: number; cpuMsPerRegistration: number; kamailioCpuUs: number }> {
  const gateway = new Gateway({
    sip: { listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], outboundProxy: `sip:127.0.0.1:${kamailio.port('udp')}`, timers: { t4: 1000 } },
    domains: [DOMAIN],
    registration: { expires: 3600, retryMs: 0 },
    closeTimeoutMs: 3000,
  });
  await gateway.start();
  const live: Account[] = [];
  let failed = 0;
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const cpuBefore = process.cpuUsage();
  const kamailioBefore = cpuTimeMs(kamailio.processIds());
  const started = performance.now();
  let next = 0;
  async function worker(): Promise<void> {
    while (next < accounts) {
      const user = `b${next++}`;
      const conn = gateway.openConnection({ door: 'bench', remote: user });
      const account = conn.addAccount({
        aor: `${user}@${DOMAIN}`,
        secret: createHash('md5').update(`${user}:${DOMAIN}:${PASSWORD}`).digest('hex'),
        secretKind: 'ha1',
      });
      const outcome = new Promise<string>((resolve) => account.on('registration', (e) => e.state !== 'registering' && resolve(e.state)));
      account.register();
      if ((await outcome) === 'registered') live.push(account);
      else failed++;
    }
  }
  await Promise.all(Array.from({ length: window }, worker));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const kamailioCpu = cpuTimeMs(kamailio.processIds()) - kamailioBefore;
  // Let the last transactions end (Timer K = T4 on UDP) before weighing what stays.
  await new Promise((r) => setTimeout(r, 1500));
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  const result = {
    perSecond: Math.round((live.length * 1000) / elapsedMs),
    registered: live.length,
    failed,
    bytesPerAccount: Math.round((heapAfter - heapBefore) / Math.max(1, live.length)),
    cpuMsPerRegistration: Number(((cpu.user + cpu.system) / 1000 / Math.max(1, live.length)).toFixed(3)),
    kamailioCpuUs: live.length > 0 ? Math.round((kamailioCpu * 1000) / live.length) : 0,
  };
  progress(`closing ${live.length} connections (un-REGISTER each)`);
  await gateway.close();
  return result;
}

const kamailio = new Kamailio({ anyUserPassword: PASSWORD, domains: [DOMAIN], children: 4, sharedMemoryMb: 256, logLevel: -1, maxExpires: 3600 });
await kamailio.start();
try {
  progress(`Kamailio on ${kamailio.address('udp')}, digest on every REGISTER; ${accounts} Portico accounts, ${window} in flight`);
  const sipp = await sippDirect(kamailio);
  progress(`SIPp → Kamailio: ${sipp.perSecond} REGISTER/s (${sipp.registrations} ok, ${sipp.failed} failed, Kamailio ${sipp.kamailioCpuUs} µs CPU each)`);
  const core = await throughCore(kamailio);
  progress(
    `Portico core → Kamailio: ${core.perSecond} registrations/s (${core.registered} ok, ${core.failed} failed, ${core.cpuMsPerRegistration} ms gateway CPU each, Kamailio ${core.kamailioCpuUs} µs each)`,
  );
  progress(`memory: ${core.bytesPerAccount} bytes of heap per connected, registered account (${core.registered} live)`);
  console.log(
    JSON.stringify({
      bench: 'gateway-core',
      accounts,
      window,
      sippDirectPerSecond: sipp.perSecond,
      porticoCorePerSecond: core.perSecond,
      ratio: Number((core.perSecond / Math.max(1, sipp.perSecond)).toFixed(2)),
      porticoFailed: core.failed,
      porticoCpuMsPerRegistration: core.cpuMsPerRegistration,
      kamailioCpuUsPerRegistration: { sipp: sipp.kamailioCpuUs, portico: core.kamailioCpuUs },
      bytesPerRegisteredAccount: core.bytesPerAccount,
    }),
  );
} finally {
  await kamailio.stop();
}
