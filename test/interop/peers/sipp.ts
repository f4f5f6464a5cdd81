// SIPp (Debian sip-tester 3.6) as a real SIP peer for interop tests and benchmarks.
//
// Every instance runs on 127.0.0.1 only, with explicit ephemeral SIP, media and control ports
// (SIPp's defaults 5060/6000/8888 would collide between tests, and its control socket would
// otherwise bind 0.0.0.0), and writes its statistics, message trace and error log into its own temp
// directory, so a test can assert what SIPp saw on the wire.
//
// Exit codes of SIPp: 0 every call succeeded, 1 at least one call failed, 97 stopped by an internal
// command, 99 ended normally without any call processed, 255 fatal error (e.g. a scenario that does
// not load), 254 fatal socket binding error.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeSelfSignedCert } from './certs.ts';
import { freePort, isListening } from './ports.ts';
import { makeTempDir, trackChild } from './processes.ts';

export const SCENARIO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../scenarios');

/** Built-in scenarios (`-sn`). */
export const BUILTIN_SCENARIOS = ['uac', 'uas', 'regexp', 'branchc', 'branchs', '3pcc-C-A', '3pcc-C-B', '3pcc-A', '3pcc-B', 'uac_pcap'] as const;
export type BuiltinScenario = (typeof BUILTIN_SCENARIOS)[number];

export type SippTransport = 'udp' | 'tcp' | 'tls';
const TRANSPORT_FLAG: Record<SippTransport, string> = { udp: 'u1', tcp: 't1', tls: 'l1' };

export const SIPP_EXIT = {
  allCallsSucceeded: 0,
  someCallFailed: 1,
  internalCommand: 97,
  noCallProcessed: 99,
  fatalError: 255,
  bindError: 254,
} as const;

export interface SippOptions {
  /**
   * What to run: a built-in scenario (`'uas'`, `'uac'`, ... → `-sn`), the name of a file in
   * test/interop/scenarios without `.xml` (`'uas-invite-bye'`), or a path to a scenario file.
   */
  scenario: string;
  /** Where a UAC sends its first request: `'127.0.0.1:5060'` or `{ host, port }`. Omit for a UAS. */
  remote?: string | { host: string; port: number };
  /** `-t u1 | t1 | l1` (default udp). */
  transport?: SippTransport;
  /** SIP port (`-p`); default: a fresh ephemeral port. */
  localPort?: number;
  /** RTP echo port (`-mp`, SIPp also uses +2); default: ephemeral. */
  mediaPort?: number;
  /** Control socket port (`-cp`); default: ephemeral. */
  controlPort?: number;
  /** Stop after this many calls (`-m`). */
  calls?: number;
  /** New calls per rate period (`-r`). */
  rate?: number;
  /** Rate period in ms (`-rp`, default 1000). */
  ratePeriodMs?: number;
  /** Maximum simultaneous calls (`-l`). */
  limit?: number;
  /**
   * Passed as `-timeout` (seconds). SIPp 3.6 does not enforce it reliably, so `waitExit()` takes its
   * own deadline as well.
   */
  timeoutMs?: number;
  /** Default receive timeout for every `<recv>` (`-recv_timeout`, ms). */
  recvTimeoutMs?: number;
  /** Request-URI user part, `[service]` (`-s`). */
  service?: string;
  /** Generic keywords: `{ name: value }` → `-key name value`, used as `[name]` in scenarios. */
  keys?: Record<string, string | number>;
  /** Global variables: `{ name: value }` → `-set name value`, used as `[$name]` (declared `<Global>`). */
  vars?: Record<string, string | number>;
  /** Digest credentials for `[authentication]` (`-au`, `-ap`). */
  auth?: { username: string; password: string };
  /**
   * UDP retransmissions and retransmission detection (default true). `false` passes `-nr`, which a
   * UAS needs to see a retransmitted request as a new message (see uas-drop-first-invite.xml).
   */
  retransmissions?: boolean;
  /**
   * How long SIPp remembers a finished call to absorb its late messages (`-deadcall_wait`, ms;
   * SIPp's default 33 s). 0 lets a request that reuses a finished call's Call-ID (a REGISTER
   * refresh) start a new call.
   */
  deadCallWaitMs?: number;
  /** `-default_behaviors` value, e.g. `'none'` or `'-bye'`. */
  defaultBehaviors?: string;
  /** TLS key and certificate (`-tls_key`, `-tls_cert`); generated when transport is tls and omitted. */
  tls?: { keyPath: string; certPath: string };
  /** Trace every message into the messages log (default true; turn off for benchmarks). */
  traceMessages?: boolean;
  /** Statistics dump period in seconds (`-fd`, default 1). */
  statsIntervalS?: number;
  /** Anything else, appended verbatim. */
  extraArgs?: string[];
  /** Label for the temp directory. */
  name?: string;
}

/** Counters from SIPp's statistics CSV (the last line written, i.e. the final one after exit). */
export interface SippStats {
  /** Every column by its CSV name, e.g. `'SuccessfulCall(C)'`. */
  raw: Record<string, string>;
  successfulCalls: number;
  failedCalls: number;
  retransmissions: number;
  totalCalls: number;
  incomingCalls: number;
  outgoingCalls: number;
  currentCalls: number;
  failedUnexpectedMessage: number;
  failedMaxUdpRetrans: number;
  failedTimeoutOnRecv: number;
  failedRegexpDoesntMatch: number;
  deadCallMessages: number;
  outOfCallMessages: number;
  /** Wall time from SIPp's start to this line, in ms (StartTime → CurrentTime). */
  elapsedMs: number;
  /** Average call rate over the run, calls/s (`CallRate(C)`). */
  callRate: number;
}

export interface SippResult {
  /** Exit code (see SIPP_EXIT), or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stats: SippStats | undefined;
  /** True when the run was ended by stop() or a deadline rather than by SIPp itself. */
  stopped: boolean;
}

export interface SippTraceEntry {
  direction: 'sent' | 'received';
  /** 'UDP', 'TCP', 'TLS' as SIPp logs it. */
  transport: string;
  /** SIPp's timestamp line, e.g. `2026-11-23 12:15:00.804622` (local time). */
  time: string;
  /** The same instant in ms since the epoch, for timing assertions (retransmission intervals). */
  timeMs: number;
  /** The SIP message, lines joined with CRLF. */
  text: string;
  /** Request method, or undefined for a response. */
  method?: string;
  /** Response status, or undefined for a request. */
  status?: number;
}

export class SippTimeoutError extends Error {
  readonly code = 'SIPP_TIMEOUT';
  constructor(
    message: string,
    readonly result: SippResult,
  ) {
    super(message);
    this.name = 'SippTimeoutError';
  }
}

function toNumber(value: string | undefined): number {
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

/** `2026-11-23\t12:15:00.397785\t1795436100.397785` → epoch seconds (the third field). */
function epochOf(value: string | undefined): number {
  const last = value?.split('\t').pop();
  return toNumber(last);
}

/** Parses SIPp's `-trace_stat` CSV (`;`-separated, header first) and returns its last row. */
export function parseSippStats(csv: string): SippStats | undefined {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  if (lines.length < 2) return undefined;
  const header = (lines[0] as string).split(';');
  const values = (lines[lines.length - 1] as string).split(';');
  const raw: Record<string, string> = {};
  header.forEach((name, i) => {
    if (name !== '') raw[name] = values[i] ?? '';
  });
  const n = (name: string): number => toNumber(raw[name]);
  return {
    raw,
    successfulCalls: n('SuccessfulCall(C)'),
    failedCalls: n('FailedCall(C)'),
    retransmissions: n('Retransmissions(C)'),
    totalCalls: n('TotalCallCreated'),
    incomingCalls: n('IncomingCall(C)'),
    outgoingCalls: n('OutgoingCall(C)'),
    currentCalls: n('CurrentCall'),
    failedUnexpectedMessage: n('FailedUnexpectedMessage(C)'),
    failedMaxUdpRetrans: n('FailedMaxUDPRetrans(C)'),
    failedTimeoutOnRecv: n('FailedTimeoutOnRecv(C)'),
    failedRegexpDoesntMatch: n('FailedRegexpDoesntMatch(C)'),
    deadCallMessages: n('DeadCallMsgs(C)'),
    outOfCallMessages: n('OutOfCallMsgs(C)'),
    elapsedMs: Math.max(0, Math.round((epochOf(raw.CurrentTime) - epochOf(raw.StartTime)) * 1000)),
    callRate: n('CallRate(C)'),
  };
}

const TRACE_SEPARATOR = /^-{20,} (\S+ \S+)\s*$/;
const TRACE_HEADER = /^(\w+) message (sent|received)/;

/** Splits SIPp's `-trace_msg` log into messages. */
export function parseSippMessages(log: string): SippTraceEntry[] {
  const entries: SippTraceEntry[] = [];
  const lines = log.split(/\r?\n/);
  let i = 0;
  while (i < lines.length) {
    const sep = TRACE_SEPARATOR.exec(lines[i] as string);
    if (!sep) {
      i++;
      continue;
    }
    const time = sep[1] as string;
    const head = TRACE_HEADER.exec(lines[i + 1] ?? '');
    let j = i + 1;
    while (j < lines.length && !TRACE_SEPARATOR.test(lines[j] as string)) j++;
    if (head) {
      // Header line, a blank line, then the message as sent; trailing blank lines belong to the log.
      const body = lines.slice(i + 3, j);
      while (body.length > 0 && body[body.length - 1] === '') body.pop();
      const text = body.join('\r\n');
      const first = body[0] ?? '';
      const status = /^SIP\/2\.0 (\d{3})/.exec(first);
      const method = /^([A-Z]+) \S+ SIP\/2\.0/.exec(first);
      entries.push({
        direction: head[2] as 'sent' | 'received',
        transport: head[1] as string,
        time,
        timeMs: Date.parse(time.replace(' ', 'T')),
        text,
        ...(status ? { status: Number(status[1]) } : {}),
        ...(method ? { method: method[1] } : {}),
      });
    }
    i = j;
  }
  return entries;
}

let tlsSupport: boolean | undefined;

/**
 * Whether this SIPp was built with TLS. Debian's sip-tester is not (`sipp -v` says
 * `SIPp v3.6.1-SCTP-PCAP-RTPSTREAM`), so TLS interop tests use Kamailio or Node's tls instead.
 */
export function sippSupportsTls(): boolean {
  if (tlsSupport === undefined) {
    let version = '';
    try {
      version = execFileSync('sipp', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      version = String((err as { stdout?: string }).stdout ?? '');
    }
    tlsSupport = /SIPp v\S*TLS/.test(version);
  }
  return tlsSupport;
}

export function scenarioPath(name: string): string {
  return join(SCENARIO_DIR, `${name}.xml`);
}

function resolveScenario(scenario: string): { builtin: boolean; value: string; label: string } {
  if ((BUILTIN_SCENARIOS as readonly string[]).includes(scenario)) return { builtin: true, value: scenario, label: scenario };
  if (!scenario.includes('/') && !scenario.endsWith('.xml')) {
    return { builtin: false, value: scenarioPath(scenario), label: scenario };
  }
  const path = resolve(scenario);
  return { builtin: false, value: path, label: path.replace(/^.*\//, '').replace(/\.xml$/, '') };
}

export class Sipp {
  readonly options: SippOptions;
  /** Temp directory holding the logs (and a generated TLS key pair). */
  readonly dir: string;
  readonly statsFile: string;
  readonly messagesFile: string;
  readonly errorsFile: string;
  readonly logFile: string;
  readonly screenFile: string;
  readonly host = '127.0.0.1';
  private child: ChildProcess | undefined;
  private ports: { sip: number; media: number; control: number } | undefined;
  private exitPromise: Promise<SippResult> | undefined;
  private stopRequested = false;
  private startPromise: Promise<void> | undefined;

  constructor(options: SippOptions) {
    this.options = options;
    const label = resolveScenario(options.scenario).label.replace(/[^A-Za-z0-9_-]/g, '_');
    this.dir = makeTempDir(`sipp-${options.name ?? label}`);
    this.statsFile = join(this.dir, 'stats.csv');
    this.messagesFile = join(this.dir, 'messages.log');
    this.errorsFile = join(this.dir, 'errors.log');
    this.logFile = join(this.dir, 'actions.log');
    this.screenFile = join(this.dir, 'screen.log');
  }

  /** The local SIP port (known after start()). */
  get port(): number {
    if (!this.ports) throw new Error('Sipp: start() first');
    return this.ports.sip;
  }

  get mediaPort(): number {
    if (!this.ports) throw new Error('Sipp: start() first');
    return this.ports.media;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** `host:port` of this SIPp's SIP socket, for a peer to send to. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** A SIP URI reaching this SIPp, e.g. `sip:bob@127.0.0.1:40123` (`;transport=` added for tcp/tls). */
  uri(user = 'service'): string {
    const transport = this.options.transport ?? 'udp';
    return `sip:${user}@${this.address}${transport === 'udp' ? '' : `;transport=${transport}`}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The command line (without the `sipp` binary), for logs and debugging. */
  args(): string[] {
    if (!this.ports) throw new Error('Sipp: start() first');
    const o = this.options;
    const scenario = resolveScenario(o.scenario);
    const args: string[] = [];
    if (o.remote !== undefined) {
      args.push(typeof o.remote === 'string' ? o.remote : `${o.remote.host}:${o.remote.port}`);
    }
    args.push(scenario.builtin ? '-sn' : '-sf', scenario.value);
    args.push('-i', this.host, '-mi', this.host, '-ci', this.host);
    args.push('-p', String(this.ports.sip), '-mp', String(this.ports.media), '-cp', String(this.ports.control));
    args.push('-t', TRANSPORT_FLAG[o.transport ?? 'udp']);
    args.push('-nostdin');
    args.push('-trace_stat', '-stf', this.statsFile, '-fd', String(o.statsIntervalS ?? 1));
    args.push('-trace_err', '-error_file', this.errorsFile);
    args.push('-trace_logs', '-log_file', this.logFile);
    if (o.traceMessages !== false) args.push('-trace_msg', '-message_file', this.messagesFile);
    if (o.calls !== undefined) args.push('-m', String(o.calls));
    if (o.rate !== undefined) args.push('-r', String(o.rate));
    if (o.ratePeriodMs !== undefined) args.push('-rp', `${o.ratePeriodMs}ms`);
    if (o.limit !== undefined) args.push('-l', String(o.limit));
    if (o.timeoutMs !== undefined) args.push('-timeout', `${Math.max(1, Math.ceil(o.timeoutMs / 1000))}s`);
    if (o.recvTimeoutMs !== undefined) args.push('-recv_timeout', `${o.recvTimeoutMs}ms`);
    if (o.service !== undefined) args.push('-s', o.service);
    for (const [k, v] of Object.entries(o.keys ?? {})) args.push('-key', k, String(v));
    for (const [k, v] of Object.entries(o.vars ?? {})) args.push('-set', k, String(v));
    if (o.auth) args.push('-au', o.auth.username, '-ap', o.auth.password);
    if (o.retransmissions === false) args.push('-nr');
    if (o.deadCallWaitMs !== undefined) args.push('-deadcall_wait', `${o.deadCallWaitMs}ms`);
    if (o.defaultBehaviors !== undefined) args.push('-default_behaviors', o.defaultBehaviors);
    if ((o.transport ?? 'udp') === 'tls') {
      const tls = o.tls ?? { keyPath: join(this.dir, 'sipp-key.pem'), certPath: join(this.dir, 'sipp-cert.pem') };
      args.push('-tls_key', tls.keyPath, '-tls_cert', tls.certPath);
    }
    args.push(...(o.extraArgs ?? []));
    return args;
  }

  /**
   * Spawns SIPp. Resolves once its SIP socket is bound (a UAS is then ready for requests) and
   * rejects with SIPp's error log if it exits first.
   */
  start(): Promise<void> {
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    const o = this.options;
    const transport = o.transport ?? 'udp';
    const sipProtocol = transport === 'udp' ? 'udp' : 'tcp';
    if (transport === 'tls' && !sippSupportsTls()) {
      throw new Error('this SIPp is built without TLS (Debian sip-tester is); use udp or tcp');
    }
    this.ports = {
      sip: o.localPort ?? (await freePort(sipProtocol)),
      media: o.mediaPort ?? (await freePort('udp', { alsoFree: [1, 2, 3] })),
      control: o.controlPort ?? (await freePort('udp')),
    };
    if (transport === 'tls' && !o.tls) await makeSelfSignedCert(this.dir, 'sipp');
    const out = openSync(this.screenFile, 'a');
    let child: ChildProcess;
    try {
      // Own process group, so the exit hook can take SIPp down with anything it forked.
      child = spawn('sipp', this.args(), { cwd: this.dir, stdio: ['ignore', out, out], detached: true });
    } finally {
      closeSync(out);
    }
    this.child = child;
    trackChild(child);
    this.exitPromise = new Promise<SippResult>((resolveExit) => {
      child.once('error', () => resolveExit(this.result(null, null)));
      child.once('exit', (code, signal) => resolveExit(this.result(code, signal)));
    });
    const exited = this.exitPromise.then((r) => r);
    const deadline = Date.now() + 5000;
    for (;;) {
      // A UAC over TCP/TLS only connects out; every other SIPp binds its SIP port.
      const bound = await isListening(sipProtocol, this.ports.sip);
      if (bound) return;
      if (!this.running) {
        const r = await exited;
        // A quick UAC may be done before we look (and over TCP it never binds): a normal end, with
        // every call ok or some failed, is for waitExit() to report, not a failed start.
        if (r.code === SIPP_EXIT.allCallsSucceeded || r.code === SIPP_EXIT.someCallFailed) return;
        throw new Error(`sipp exited during start (code ${r.code}): ${this.errors() || this.screen().slice(-2000)}`);
      }
      if (Date.now() > deadline) {
        if (o.remote !== undefined && sipProtocol === 'tcp') return;
        throw new Error(`sipp did not bind ${sipProtocol}:${this.ports.sip} within 5 s`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private result(code: number | null, signal: NodeJS.Signals | null): SippResult {
    return { code, signal, stats: this.stats(), stopped: this.stopRequested };
  }

  /**
   * Waits for SIPp to end on its own (e.g. after `-m` calls). After `timeoutMs` it is stopped and
   * the promise rejects with a SippTimeoutError carrying what SIPp logged.
   */
  async waitExit(timeoutMs = 15000): Promise<SippResult> {
    if (!this.exitPromise) throw new Error('Sipp: start() first');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.exitPromise, deadline]);
    clearTimeout(timer);
    if (outcome !== 'timeout') return outcome;
    const result = await this.stop();
    throw new SippTimeoutError(
      `sipp ${this.options.scenario} still running after ${timeoutMs} ms; ` +
        `stats: ${result.stats ? `${result.stats.successfulCalls} ok, ${result.stats.failedCalls} failed` : 'none'}; ` +
        `errors: ${this.errors().slice(-1500) || '(none)'}`,
      result,
    );
  }

  /**
   * Ends SIPp: SIGTERM (it then writes its final statistics), SIGKILL after 2 s. Safe to call twice
   * and before start(); resolves with the exit result.
   */
  async stop(): Promise<SippResult> {
    if (!this.child || !this.exitPromise) {
      this.stopRequested = true;
      return { code: null, signal: null, stats: undefined, stopped: true };
    }
    if (this.running) {
      this.stopRequested = true;
      const pid = this.child.pid as number;
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        this.child.kill('SIGTERM');
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 2000);
      await this.exitPromise;
      clearTimeout(timer);
    }
    return this.exitPromise;
  }

  /** Statistics from the CSV as written so far (final values once SIPp has exited). */
  stats(): SippStats | undefined {
    return existsSync(this.statsFile) ? parseSippStats(readFileSync(this.statsFile, 'utf8')) : undefined;
  }

  /** The raw `-trace_msg` log. */
  messagesLog(): string {
    return existsSync(this.messagesFile) ? readFileSync(this.messagesFile, 'utf8') : '';
  }

  /** Every message SIPp sent or received, in order. */
  messages(): SippTraceEntry[] {
    return parseSippMessages(this.messagesLog());
  }

  received(): SippTraceEntry[] {
    return this.messages().filter((m) => m.direction === 'received');
  }

  sent(): SippTraceEntry[] {
    return this.messages().filter((m) => m.direction === 'sent');
  }

  /** The `-trace_err` log (unexpected messages, aborted calls, scenario errors). */
  errors(): string {
    return existsSync(this.errorsFile) ? readFileSync(this.errorsFile, 'utf8') : '';
  }

  /** Output of `<log>` actions in the scenario. */
  actionLog(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  /** What SIPp printed on stdout/stderr (its screen). */
  screen(): string {
    return existsSync(this.screenFile) ? readFileSync(this.screenFile, 'utf8') : '';
  }
}

/** Starts a SIPp and returns it once ready. */
export async function startSipp(options: SippOptions): Promise<Sipp> {
  const sipp = new Sipp(options);
  try {
    await sipp.start();
  } catch (err) {
    await sipp.stop();
    throw err;
  }
  return sipp;
}
