// Kamailio 5.6 (Debian) as a real registrar and proxy for interop tests and benchmarks.
//
// Each instance renders test/interop/kamailio/kamailio.cfg.tpl into its own temp directory with
// ephemeral 127.0.0.1 ports (UDP and TCP always; TLS with a throw-away certificate, and WebSocket
// on TCP and TLS, when asked), a users table for digest authentication without any database, and a
// ctl socket for kamcmd. The main process stays our child (-DD), logs to stderr (-E), which goes
// to a file in the temp dir, and is stopped by pid.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeSelfSignedCert, type TestCertificate } from './certs.ts';
import { freePort, isListening } from './ports.ts';
import { descendants, isAlive, makeTempDir, trackChild, waitGone } from './processes.ts';

const execFileP = promisify(execFile);

export const KAMAILIO_TEMPLATE = resolve(dirname(fileURLToPath(import.meta.url)), '../kamailio/kamailio.cfg.tpl');

export type KamailioTransport = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';

export interface KamailioOptions {
  /** Users and their plain-text passwords for digest authentication: `{ alice: 'secret' }`. */
  users?: Record<string, string>;
  /**
   * A password every user name not in `users` authenticates with (benchmarks registering r1..rN).
   * With it, every From user counts as local, so all INVITE/MESSAGE requests are challenged.
   */
  anyUserPassword?: string;
  /** Challenge REGISTER (401) — default true. */
  authenticateRegister?: boolean;
  /** Challenge INVITE, MESSAGE, ... from users in the table (407) — default true. */
  authenticateRequests?: boolean;
  /**
   * After wrong credentials: `'challenge'` again with a fresh nonce (Kamailio's stock behaviour,
   * default) or `'forbid'` (403 Forbidden).
   */
  onBadCredentials?: 'challenge' | 'forbid';
  /** Digest realm; default: the To domain for REGISTER, the From domain for other requests. */
  realm?: string;
  /** Extra host names treated as this server (`alias=`), e.g. `['portico.test']`. */
  domains?: string[];
  /** Add a TLS listener (self-signed certificate generated at start). Default false. */
  tls?: boolean;
  /** Add WebSocket listeners (ws on TCP; wss as well when `tls`). Default false. */
  websocket?: boolean;
  /**
   * Reach registered TCP/TLS clients over the connection they registered from, like WS clients
   * (a UA behind NAT, or one whose Contact port is not listening). Default false.
   */
  aliasStreamContacts?: boolean;
  /** Lowest and highest expiry the registrar grants (default 1 and 3600 s). */
  minExpires?: number;
  maxExpires?: number;
  /** tm timers: non-INVITE final response timeout and INVITE final response timeout (ms). */
  frTimerMs?: number;
  frInvTimerMs?: number;
  /** Worker processes per listener (default 2). */
  children?: number;
  /** Shared and private memory in MB (default 64 and 8). */
  sharedMemoryMb?: number;
  privateMemoryMb?: number;
  /** Kamailio `debug` level: -1 errors only … 2 info (default, one line per request) … 3 debug. */
  logLevel?: number;
  /** Fixed ports instead of ephemeral ones. */
  ports?: Partial<Record<KamailioTransport, number>>;
}

/** One binding from `ul.dump` / `ul.lookup`. */
export interface KamailioContact {
  aor: string;
  /** The Contact URI as registered (`Address`). */
  uri: string;
  /** Seconds left. */
  expires: number;
  q: number;
  callId: string;
  cseq: number;
  userAgent: string;
  /** Source address recorded for NATed / WebSocket clients (`Received`), if any. */
  received?: string;
  /** Local socket the REGISTER arrived on, e.g. `udp:127.0.0.1:40000`. */
  socket: string;
  /** Every field as kamcmd printed it. */
  fields: Record<string, string>;
}

const USER_NAME = /^[A-Za-z0-9._~+-]+$/;
const PASSWORD = /^[\x20-\x7e]+$/;

function assertPlain(kind: string, value: string, pattern: RegExp): void {
  if (!pattern.test(value) || value.includes('"') || value.includes('\\') || value.includes('$')) {
    throw new Error(`Kamailio: ${kind} ${JSON.stringify(value)} must be printable ASCII without quotes, backslashes or $`);
  }
}

/** The folder holding tm.so, from the package's file list. */
export function kamailioModulePath(): string {
  const fromEnv = process.env.KAMAILIO_MODULES;
  if (fromEnv) return fromEnv;
  const list = execFileSync('dpkg', ['-L', 'kamailio'], { encoding: 'utf8' });
  const tm = list.split('\n').find((l) => l.endsWith('/modules/tm.so'));
  if (!tm) throw new Error('Kamailio: tm.so not found in `dpkg -L kamailio`; run scripts/ensure-peers.sh');
  return dirname(tm);
}

/**
 * Parses kamcmd's text output of `ul.dump` or `ul.lookup location <aor>` into contacts. kamcmd
 * prints nested structures as `Name: {` … `}` blocks and scalars as `Name: value` lines.
 */
export function parseUsrlocDump(text: string): KamailioContact[] {
  const contacts: KamailioContact[] = [];
  let aor = '';
  let current: Record<string, string> | undefined;
  let depth = 0;
  let contactDepth = -1;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    if (line === '') continue;
    if (line.endsWith('{')) {
      depth++;
      if (/^Contact:\s*\{$/.test(line)) {
        current = {};
        contactDepth = depth;
      }
      continue;
    }
    if (line === '}') {
      if (current && depth === contactDepth) {
        contacts.push(toContact(aor, current));
        current = undefined;
        contactDepth = -1;
      }
      depth--;
      continue;
    }
    const m = /^([A-Za-z][\w-]*):\s?(.*)$/.exec(line);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (current) current[key] = value;
    else if (key === 'AoR') aor = value;
  }
  return contacts;
}

function toContact(aor: string, f: Record<string, string>): KamailioContact {
  const notSet = (v: string | undefined): string | undefined => (v === undefined || v === '[not set]' ? undefined : v);
  const received = notSet(f.Received);
  return {
    aor,
    uri: f.Address ?? '',
    expires: Number(f.Expires ?? NaN),
    q: Number(f.Q ?? NaN),
    callId: f['Call-ID'] ?? '',
    cseq: Number(f.CSeq ?? NaN),
    userAgent: notSet(f['User-Agent']) ?? '',
    ...(received ? { received } : {}),
    socket: f.Socket ?? '',
    fields: f,
  };
}

export class Kamailio {
  readonly options: KamailioOptions;
  readonly dir: string;
  readonly configFile: string;
  readonly logFile: string;
  readonly pidFile: string;
  readonly ctlSocket: string;
  readonly host = '127.0.0.1';
  private child: ChildProcess | undefined;
  private portMap: Partial<Record<KamailioTransport, number>> = {};
  private cert: TestCertificate | undefined;
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;
  private exitPromise: Promise<void> | undefined;

  constructor(options: KamailioOptions = {}) {
    this.options = options;
    for (const [user, password] of Object.entries(options.users ?? {})) {
      assertPlain('user name', user, USER_NAME);
      assertPlain('password', password, PASSWORD);
    }
    if (options.anyUserPassword !== undefined) assertPlain('password', options.anyUserPassword, PASSWORD);
    if (options.realm !== undefined) assertPlain('realm', options.realm, USER_NAME);
    for (const d of options.domains ?? []) assertPlain('domain', d, USER_NAME);
    this.dir = makeTempDir('kamailio');
    this.configFile = join(this.dir, 'kamailio.cfg');
    this.logFile = join(this.dir, 'kamailio.log');
    this.pidFile = join(this.dir, 'kamailio.pid');
    this.ctlSocket = join(this.dir, 'ctl.sock');
  }

  /** Port of a listener (after start()); throws for a transport that was not enabled. */
  port(transport: KamailioTransport = 'udp'): number {
    const port = this.portMap[transport];
    if (port === undefined) throw new Error(`Kamailio: no ${transport} listener (enable it in the options, then start())`);
    return port;
  }

  /** `127.0.0.1:<port>` of a listener. */
  address(transport: KamailioTransport = 'udp'): string {
    return `${this.host}:${this.port(transport)}`;
  }

  /** `ws://127.0.0.1:<port>/` or `wss://…` for a WebSocket listener. */
  wsUrl(secure = false): string {
    return `${secure ? 'wss' : 'ws'}://${this.address(secure ? 'wss' : 'ws')}/`;
  }

  /**
   * A SIP URI on this server, e.g. `sip:alice@127.0.0.1:40000` or with `;transport=tcp`
   * (RFC 3261 §19.1.1); the port is part of it, because only the listeners count as "myself".
   */
  uri(user?: string, transport: KamailioTransport = 'udp'): string {
    const userPart = user ? `${user}@` : '';
    const param = transport === 'udp' ? '' : `;transport=${transport}`;
    return `sip:${userPart}${this.address(transport)}${param}`;
  }

  /** The self-signed certificate of the TLS listeners (to pin as CA in a client). */
  get certificate(): TestCertificate | undefined {
    return this.cert;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The config as rendered for this instance (ports must be known: call after start()). */
  renderConfig(): string {
    const o = this.options;
    const defines: string[] = [];
    if (o.tls) defines.push('#!define WITH_TLS');
    if (o.websocket) defines.push('#!define WITH_WS');
    if (o.authenticateRegister !== false) defines.push('#!define WITH_REGISTER_AUTH');
    if (o.authenticateRequests !== false) defines.push('#!define WITH_REQUEST_AUTH');
    if (o.onBadCredentials === 'forbid') defines.push('#!define FORBID_BAD_CREDENTIALS');
    if (o.aliasStreamContacts) defines.push('#!define ALIAS_ALL_STREAMS');
    if (o.anyUserPassword !== undefined) defines.push(`#!define ANY_PASSWORD "${o.anyUserPassword}"`);
    const users = Object.entries(o.users ?? {})
      .map(([user, password]) => `\t$sht(users=>${user}) = "${password}";`)
      .join('\n');
    const realm = (fallback: string): string => (o.realm !== undefined ? `"${o.realm}"` : fallback);
    const values: Record<string, string> = {
      DEFINES: defines.join('\n'),
      LOG_LEVEL: String(o.logLevel ?? 2),
      CHILDREN: String(o.children ?? 2),
      MODULE_PATH: kamailioModulePath(),
      UDP_PORT: String(this.port('udp')),
      TCP_PORT: String(this.port('tcp')),
      WS_PORT: String(this.portMap.ws ?? 0),
      TLS_PORT: String(this.portMap.tls ?? 0),
      WSS_PORT: String(this.portMap.wss ?? 0),
      ALIASES: (o.domains ?? []).map((d) => `alias="${d}"`).join('\n'),
      CTL_SOCKET: this.ctlSocket,
      FR_TIMER: String(o.frTimerMs ?? 5000),
      FR_INV_TIMER: String(o.frInvTimerMs ?? 30000),
      MIN_EXPIRES: String(o.minExpires ?? 1),
      MAX_EXPIRES: String(o.maxExpires ?? 3600),
      TLS_KEY: this.cert?.keyPath ?? '',
      TLS_CERT: this.cert?.certPath ?? '',
      USERS: users || '\t$var(no_users) = 0;',
      REGISTER_REALM: realm('$td'),
      REQUEST_REALM: realm('$fd'),
    };
    const template = readFileSync(KAMAILIO_TEMPLATE, 'utf8');
    return template.replace(/%%([A-Z_]+)%%/g, (whole, name: string) => {
      const value = values[name];
      if (value === undefined) throw new Error(`Kamailio: template placeholder ${whole} has no value`);
      return value;
    });
  }

  /**
   * Renders the config and starts Kamailio; resolves when it answers an OPTIONS over UDP and every
   * stream listener accepts connections. Rejects with the log's tail if it exits or stays silent.
   */
  start(): Promise<void> {
    this.startPromise ??= this.doStart();
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    const o = this.options;
    const fixed = o.ports ?? {};
    this.portMap.udp = fixed.udp ?? (await freePort('udp'));
    this.portMap.tcp = fixed.tcp ?? (await freePort('tcp'));
    if (o.websocket) this.portMap.ws = fixed.ws ?? (await freePort('tcp'));
    if (o.tls) {
      this.portMap.tls = fixed.tls ?? (await freePort('tcp'));
      if (o.websocket) this.portMap.wss = fixed.wss ?? (await freePort('tcp'));
      this.cert = await makeSelfSignedCert(this.dir, 'kamailio');
    }
    writeFileSync(this.configFile, this.renderConfig());
    const args = [
      '-f', this.configFile,
      '-P', this.pidFile,
      '-Y', this.dir,
      '-w', this.dir,
      '-m', String(o.sharedMemoryMb ?? 64),
      '-M', String(o.privateMemoryMb ?? 8),
      '-E',
      '-DD',
    ];
    const log = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      // Own process group, so the exit hook can take down the workers with the main process.
      child = spawn('kamailio', args, { cwd: this.dir, stdio: ['ignore', log, log], detached: true });
    } finally {
      closeSync(log);
    }
    this.child = child;
    trackChild(child);
    this.exitPromise = new Promise<void>((r) => {
      child.once('exit', () => r());
      child.once('error', () => r());
    });
    try {
      await this.waitReady(10000);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const streams = (['tcp', 'tls', 'ws', 'wss'] as const).filter((t) => this.portMap[t] !== undefined);
    for (;;) {
      if (!this.running) {
        throw new Error(`kamailio exited during start:\n${this.log().slice(-3000)}`);
      }
      let ready = await this.ping(200);
      for (const t of streams) ready = ready && (await isListening('tcp', this.portMap[t] as number));
      if (ready) return;
      if (Date.now() > deadline) {
        throw new Error(`kamailio not ready after ${timeoutMs} ms:\n${this.log().slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends one OPTIONS to the UDP listener; true when a 200 comes back within `timeoutMs`. */
  ping(timeoutMs = 500): Promise<boolean> {
    const port = this.port('udp');
    return new Promise((resolvePing) => {
      const socket = createSocket('udp4');
      const callId = `ping-${randomBytes(6).toString('hex')}`;
      let done = false;
      const finish = (ok: boolean): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.close();
        resolvePing(ok);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      socket.on('error', () => finish(false));
      socket.on('message', (msg) => {
        const text = msg.toString('latin1');
        if (text.startsWith('SIP/2.0 200') && text.includes(callId)) finish(true);
      });
      socket.bind(0, this.host, () => {
        const local = socket.address().port;
        const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
        const request =
          `OPTIONS sip:${this.host}:${port} SIP/2.0\r\n` +
          `Via: SIP/2.0/UDP ${this.host}:${local};branch=${branch};rport\r\n` +
          'Max-Forwards: 70\r\n' +
          `From: <sip:probe@${this.host}:${local}>;tag=${randomBytes(4).toString('hex')}\r\n` +
          `To: <sip:${this.host}:${port}>\r\n` +
          `Call-ID: ${callId}\r\n` +
          'CSeq: 1 OPTIONS\r\n' +
          'Content-Length: 0\r\n\r\n';
        socket.send(request, port, this.host, (err) => {
          if (err) finish(false);
        });
      });
    });
  }

  /**
   * Stops Kamailio: SIGTERM to the main process (it ends its workers), SIGKILL to the whole group
   * after 3 s. Safe to call twice and before start().
   */
  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined || !this.exitPromise) return;
    const pid = child.pid;
    const workers = descendants(pid).map((p) => p.pid);
    if (this.running) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, 3000);
      await this.exitPromise;
      clearTimeout(timer);
    }
    // Workers normally die with the main process; make sure none is left behind.
    const left = await waitGone(workers, 2000);
    for (const p of left) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await waitGone(left, 1000);
  }

  /** Pids of the main process and its workers (while running). */
  processIds(): number[] {
    const pid = this.child?.pid;
    if (pid === undefined || !isAlive(pid)) return [];
    return [pid, ...descendants(pid).map((p) => p.pid)];
  }

  /** Runs `kamcmd -s unix:<ctl socket> <args>` and returns its stdout. */
  async kamcmd(...args: string[]): Promise<string> {
    try {
      const { stdout } = await execFileP('kamcmd', ['-s', `unix:${this.ctlSocket}`, ...args], { timeout: 5000 });
      return stdout;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`kamcmd ${args.join(' ')} failed: ${(e.stderr || e.stdout || e.message).trim()}`);
    }
  }

  /**
   * The registered contacts of one address-of-record (user part, since usrloc ignores the domain
   * here), or of every AOR when `aor` is omitted. An unknown AOR gives an empty list.
   */
  async locations(aor?: string): Promise<KamailioContact[]> {
    if (aor === undefined) return parseUsrlocDump(await this.kamcmd('ul.dump'));
    try {
      return parseUsrlocDump(await this.kamcmd('ul.lookup', 'location', aor));
    } catch (err) {
      if (/not found/i.test((err as Error).message)) return [];
      throw err;
    }
  }

  /**
   * Binds `contactUri` to `aor` directly in usrloc (`ul.add`), as if a REGISTER had done it: for a
   * peer that cannot register itself, e.g. a SIPp UAS.
   */
  async addLocation(aor: string, contactUri: string, expiresS = 3600): Promise<void> {
    // ul.add table aor contact expires q path flags cflags methods; `s:` makes kamcmd send an empty string.
    await this.kamcmd('ul.add', 'location', aor, contactUri, String(expiresS), '1.0', 's:', '0', '0', '0');
  }

  /** Removes every binding of `aor` (`ul.rm`). */
  async removeLocations(aor: string): Promise<void> {
    await this.kamcmd('ul.rm', 'location', aor);
  }

  /** Everything Kamailio logged so far. */
  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }
}

/** Starts a Kamailio and returns it once it answers. */
export async function startKamailio(options: KamailioOptions = {}): Promise<Kamailio> {
  const kamailio = new Kamailio(options);
  await kamailio.start();
  return kamailio;
}
