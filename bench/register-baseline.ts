// REGISTER throughput of the real peers, measured in the same run as Portico's own registration
// benchmarks so those can be reported as ratios (a figure on this shared 2-core machine means
// little alone). Three baselines, all SIPp's uac-register.xml over UDP on 127.0.0.1:
//
//   sipp→sipp               against SIPp's uas-register-loop.xml: the load generator's own ceiling
//   sipp→kamailio           Kamailio registrar, no authentication
//   sipp→kamailio (digest)  Kamailio registrar, every REGISTER challenged (401) and retried
//
// Every REGISTER is a new address-of-record r<n>, as a gateway registering many users would send.
// SIPp sends at a fixed rate, so perSecond tops out at the target rate while the registrar keeps
// up; the CPU per registration is what separates the registrars below that point.
// Run directly for JSON: `node --import tsx bench/register-baseline.ts [--rate 4000] [--seconds 3]`.
import { pathToFileURL } from 'node:url';
import { Kamailio } from '../test/interop/peers/kamailio.ts';
import { cpuTimeMs } from '../test/interop/peers/processes.ts';
import { Sipp, type SippStats } from '../test/interop/peers/sipp.ts';

export interface RegisterBaselineOptions {
  /** REGISTERs started per second by SIPp (default 4000). */
  rate?: number;
  /** Length of the run (default 3 s); SIPp sends rate × seconds REGISTERs. */
  seconds?: number;
  /** Most REGISTERs in flight (SIPp -l, default: one second's worth). */
  limit?: number;
}

export interface RegisterBaseline {
  name: string;
  transport: 'udp';
  targetRate: number;
  /** REGISTERs answered 200 (a challenged one counts once). */
  registrations: number;
  failed: number;
  retransmissions: number;
  /** From SIPp's start to its exit. */
  elapsedMs: number;
  /** registrations / elapsed seconds. */
  perSecond: number;
  /** CPU the registrar (SIPp UAS or Kamailio with its workers) used during the run, ms. */
  serverCpuMs: number;
  /** Registrar CPU per registration, µs: the figure to compare across registrars at equal load. */
  serverCpuUsPerRegistration: number;
  /** CPU the SIPp client used, ms. */
  clientCpuMs: number;
}

const defaults = (o: RegisterBaselineOptions): Required<RegisterBaselineOptions> => {
  const rate = o.rate ?? 4000;
  return { rate, seconds: o.seconds ?? 3, limit: o.limit ?? rate };
};

/** Runs uac-register.xml against `remote` and collects the figures. */
async function drive(
  name: string,
  remote: string,
  serverPids: () => number[],
  o: Required<RegisterBaselineOptions>,
  auth?: { username: string; password: string },
): Promise<RegisterBaseline> {
  const client = new Sipp({
    scenario: 'uac-register',
    name: 'bench-uac',
    remote,
    rate: o.rate,
    limit: o.limit,
    calls: Math.round(o.rate * o.seconds),
    traceMessages: false,
    statsIntervalS: 1,
    ...(auth ? { auth } : {}),
  });
  const serverCpuBefore = cpuTimeMs(serverPids());
  let stats: SippStats | undefined;
  let clientCpuMs = 0;
  try {
    await client.start();
    const pid = client.pid as number;
    // Sample the client's CPU just before it exits: poll while it runs.
    const sampler = setInterval(() => {
      const now = cpuTimeMs([pid]);
      if (now > 0) clientCpuMs = now;
    }, 100);
    try {
      stats = (await client.waitExit(o.seconds * 1000 + 30000)).stats;
    } finally {
      clearInterval(sampler);
    }
  } finally {
    await client.stop();
  }
  const serverCpuMs = cpuTimeMs(serverPids()) - serverCpuBefore;
  const registrations = stats?.successfulCalls ?? 0;
  const elapsedMs = stats?.elapsedMs ?? 0;
  return {
    name,
    transport: 'udp',
    targetRate: o.rate,
    registrations,
    failed: stats?.failedCalls ?? 0,
    retransmissions: stats?.retransmissions ?? 0,
    elapsedMs,
    perSecond: elapsedMs > 0 ? Math.round((registrations * 1000) / elapsedMs) : 0,
    serverCpuMs: Math.round(serverCpuMs),
    serverCpuUsPerRegistration: registrations > 0 ? Math.round((serverCpuMs * 1000) / registrations) : 0,
    clientCpuMs: Math.round(clientCpuMs),
  };
}

/** SIPp registering against a SIPp registrar that answers every REGISTER with 200. */
export async function sippRegisterToSipp(opts: RegisterBaselineOptions = {}): Promise<RegisterBaseline> {
  const o = defaults(opts);
  const server = new Sipp({ scenario: 'uas-register-loop', name: 'bench-uas', traceMessages: false, deadCallWaitMs: 0 });
  try {
    await server.start();
    return await drive('sipp→sipp', server.address, () => (server.pid ? [server.pid] : []), o);
  } finally {
    await server.stop();
  }
}

/** SIPp registering with Kamailio (usrloc in memory), with or without digest authentication. */
export async function sippRegisterToKamailio(opts: RegisterBaselineOptions & { auth?: boolean } = {}): Promise<RegisterBaseline> {
  const o = defaults(opts);
  const password = 'bench-secret';
  const kamailio = new Kamailio({
    authenticateRegister: opts.auth === true,
    anyUserPassword: password,
    children: 4,
    sharedMemoryMb: 256,
    logLevel: -1,
  });
  try {
    await kamailio.start();
    return await drive(
      opts.auth ? 'sipp→kamailio (digest)' : 'sipp→kamailio',
      kamailio.address('udp'),
      () => kamailio.processIds(),
      o,
      opts.auth ? { username: 'bench', password } : undefined,
    );
  } finally {
    await kamailio.stop();
  }
}

/** All three baselines, one after the other. */
export async function registerBaselines(opts: RegisterBaselineOptions = {}): Promise<RegisterBaseline[]> {
  return [
    await sippRegisterToSipp(opts),
    await sippRegisterToKamailio({ ...opts, auth: false }),
    await sippRegisterToKamailio({ ...opts, auth: true }),
  ];
}

function argValue(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const n = Number(process.argv[i + 1]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number`);
  return n;
}

async function main(): Promise<void> {
  const opts: RegisterBaselineOptions = {};
  const rate = argValue('rate');
  const seconds = argValue('seconds');
  const limit = argValue('limit');
  if (rate !== undefined) opts.rate = rate;
  if (seconds !== undefined) opts.seconds = seconds;
  if (limit !== undefined) opts.limit = limit;
  const results = await registerBaselines(opts);
  process.stdout.write(`${JSON.stringify({ benchmark: 'register-baseline', results }, null, 2)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
