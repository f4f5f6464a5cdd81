/**
 * What the REST-hook interop tests share: EchoApp started as its own process (the operator's web
 * application) and a small sylkRTC-2 WebSocket client.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { SylkRtcDoor } from '../../../src/api/sylkrtc/index.ts';
import { Gateway } from '../../../src/core/index.ts';
import type { RestHooks } from '../../../src/hooks/index.ts';
import { makeTempDir, trackChild } from '../peers/processes.ts';

export const DOMAIN = 'portico.test';

/**
 * A gateway whose policy is `hooks`, behind Kamailio on UDP `kamailioPort`, with the sylkRTC door
 * (app `shop`) on an ephemeral HTTP port. The caller closes door, server and gateway.
 */
export async function startHookedGateway(
  kamailioPort: number,
  hooks: RestHooks,
): Promise<{ gateway: Gateway; door: SylkRtcDoor; server: Server; url: string }> {
  const gateway = new Gateway({
    sip: { listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }], outboundProxy: `sip:127.0.0.1:${kamailioPort}`, timers: { t1: 100, t2: 800, t4: 1000 } },
    domains: [DOMAIN],
    registration: { expires: 300 },
    closeTimeoutMs: 1500,
    policy: hooks,
  });
  await gateway.start();
  const door = new SylkRtcDoor(gateway, { pingIntervalMs: 0, app: 'shop' });
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => door.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/webrtcgateway/ws`;
  return { gateway, door, server, url };
}
const ROOT = join(import.meta.dirname, '../../..');

/** The HA1 sylkrtc.js sends as `password` (RFC 2617 §3.2.2.2), for the test domain. */
export function ha1(user: string, password: string): string {
  return createHash('md5').update(`${user}:${DOMAIN}:${password}`).digest('hex');
}

export type Frame = Record<string, unknown>;
type Hook = { method: string; body: Record<string, unknown> };

/** EchoApp as a separate process, with its control endpoint. */
export class Backend {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(config: object, port = 0): Promise<Backend> {
    const dir = makeTempDir('portico-hooks-');
    const file = join(dir, 'echo-app.json');
    writeFileSync(file, JSON.stringify(config));
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'examples/echo-app/main.ts'), '--port', String(port), '--control', '--config', file], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    trackChild(child);
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`EchoApp exited (${code})`)));
    });
    return new Backend(child, url);
  }

  async hooks(): Promise<Hook[]> {
    return (await (await fetch(`${this.url}/received`)).json()) as Hook[];
  }

  async control(b: object): Promise<void> {
    await fetch(`${this.url}/control`, { method: 'POST', body: JSON.stringify(b) });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const gone = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await gone;
  }
}

export class Client {
  readonly frames: Frame[] = [];
  readonly closed: Promise<number>;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(String(data)) as Frame));
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  }

  static open(url: string): Promise<Client> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, 'sylkRTC-2');
      const c = new Client(ws);
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
    });
  }

  /** The WCS session id the hooks use for this socket: `/client ip:port/server ip:port`. */
  get sessionId(): string {
    const s = (this.ws as unknown as { _socket: { localAddress: string; localPort: number; remoteAddress: string; remotePort: number } })._socket;
    return `/${s.localAddress}:${s.localPort}/${s.remoteAddress}:${s.remotePort}`;
  }

  async waitFor(test: (f: Frame) => boolean, label: string, timeoutMs = 5000): Promise<Frame> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.find(test);
      if (f) return f;
      if (Date.now() > end) throw new Error(`timed out waiting for ${label}; got ${JSON.stringify(this.frames)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async request(name: string, fields: Frame = {}): Promise<Frame> {
    const transaction = randomUUID();
    this.ws.send(JSON.stringify({ sylkrtc: name, transaction, ...fields }));
    return this.waitFor((f) => (f.sylkrtc === 'ack' || f.sylkrtc === 'error') && f.transaction === transaction, `reply to ${name}`);
  }

  async ok(name: string, fields: Frame = {}): Promise<void> {
    const reply = await this.request(name, fields);
    assert.equal(reply.sylkrtc, 'ack', `${name}: ${JSON.stringify(reply)}`);
  }

  state(session: string, state: string): Promise<Frame> {
    return this.waitFor((f) => f.sylkrtc === 'session-event' && f.session === session && f.state === state, `${session} ${state}`);
  }

  registered(account: string): Promise<Frame> {
    return this.waitFor((f) => f.event === 'registration-state' && f.account === account && f.state === 'registered', `${account} registered`);
  }
}
