/**
 * The parent's side of media-relay-child.ts: forks the relay (Portico's bridge or a bare werift
 * relay) and talks to it over IPC. With `cpuProfileDir`, the child runs under `--cpu-prof` and
 * writes its profile there when closed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { trackChild } from '../../test/interop/peers/processes.ts';
import type { RelayEngine, RelayReply, RelayRequest, RelayStats } from './media-relay-child.ts';

export type { RelayEngine, RelayStats };

const CHILD = fileURLToPath(new URL('./media-relay-child.ts', import.meta.url));

export class RelayProcess {
  private nextReq = 1;
  private readonly byReq = new Map<number, (m: RelayReply) => void>();
  private readonly byId = new Map<string, { resolve: (sdp: string) => void; reject: (e: Error) => void }>();
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly engine: RelayEngine,
  ) {
    child.on('message', (raw) => {
      const m = raw as RelayReply;
      if (m.t === 'answer') {
        this.byId.get(m.id)?.resolve(m.sdp);
        this.byId.delete(m.id);
      } else if (m.t === 'error' && m.id !== undefined) {
        this.byId.get(m.id)?.reject(new Error(m.message));
        this.byId.delete(m.id);
      } else if ('req' in m && m.req !== undefined) {
        this.byReq.get(m.req)?.(m);
        this.byReq.delete(m.req);
      }
    });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static async start(engine: RelayEngine, sinkPort: number, cpuProfileDir?: string): Promise<RelayProcess> {
    const execArgv = ['--expose-gc', '--import', 'tsx', ...(cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [])];
    const child = fork(CHILD, ['--engine', engine, '--sink', String(sinkPort)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    trackChild(child);
    const relay = new RelayProcess(child, engine);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: RelayReply) => {
        if (m.t !== 'ready') return;
        child.off('message', onMessage);
        resolve();
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`the ${engine} relay exited during start (${code})`)));
    });
    return relay;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  setup(id: string, offer: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.byId.set(id, { resolve, reject });
      this.child.send({ t: 'setup', id, offer } satisfies RelayRequest);
    });
  }

  stats(): Promise<RelayStats> {
    return this.request('stats') as Promise<RelayStats>;
  }

  /** Stats after two full garbage collections (memory figures). */
  gc(): Promise<RelayStats> {
    return this.request('gc') as Promise<RelayStats>;
  }

  /** Closes every call, lets the child exit (writing its CPU profile), SIGKILL after 10 s. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    try {
      if (this.child.connected) await this.request('close').catch(() => undefined);
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private request(t: 'stats' | 'gc' | 'close'): Promise<RelayReply> {
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      this.byReq.set(req, resolve);
      this.child.send({ t, req } satisfies RelayRequest, (err) => err && reject(err));
    });
  }
}
