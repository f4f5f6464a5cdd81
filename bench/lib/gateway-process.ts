/**
 * The parent's side of bench/lib/gateway-child.ts: forks the gateway service with a raw config,
 * waits for its WebSocket URL, and asks it for snapshots (memory after GC, CPU, core counts,
 * event-loop delay) and SIP timings over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChildSnapshot, ProbeRecord } from './gateway-child.ts';

export type { ChildSnapshot, ProbeRecord };

const CHILD = fileURLToPath(new URL('./gateway-child.ts', import.meta.url));

export class GatewayProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, (body: Record<string, unknown>) => void>();
  readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly wsUrl: string,
    /** `pass-through`, `bridge`, or none when the gateway has no media plane. */
    readonly mediaMode: string,
    /** The gateway's SIP UDP port. */
    readonly sipUdpPort: number,
  ) {
    child.on('message', (raw) => {
      const msg = raw as { id?: number };
      if (msg.id === undefined) return;
      const done = this.waiting.get(msg.id);
      this.waiting.delete(msg.id);
      done?.(msg as Record<string, unknown>);
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /**
   * Starts the gateway service from `config` (the YAML file's settings as an object). Its log
   * (pino, JSON lines) goes to `logFile`. `nodeArgs` go to node. `signallingOnly` turns the media
   * plane to pass-through (SDP unchanged), where the gateway has one.
   */
  static async start(config: object, opts: { logFile: string; nodeArgs?: string[]; signallingOnly?: boolean }): Promise<GatewayProcess> {
    const out = openSync(opts.logFile, 'a');
    let child: ChildProcess;
    try {
      child = fork(CHILD, [JSON.stringify(config), JSON.stringify({ signallingOnly: opts.signallingOnly === true })], {
        execArgv: ['--expose-gc', '--import', 'tsx', ...(opts.nodeArgs ?? [])],
        stdio: ['ignore', out, out, 'ipc'],
      });
    } finally {
      closeSync(out);
    }
    const first = await new Promise<{ ready?: boolean; wsUrl?: string; mediaMode?: string; sipUdpPort?: number; error?: string }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as { wsUrl?: string; error?: string }));
      child.once('exit', (code) => reject(new Error(`the gateway exited during start (code ${code}); see ${opts.logFile}`)));
    });
    if (!first.ready || !first.wsUrl) throw new Error(`the gateway did not start: ${first.error ?? 'no URL'}`);
    return new GatewayProcess(child, first.wsUrl, first.mediaMode ?? 'unknown', first.sipUdpPort ?? 0);
  }

  private ask<T>(cmd: string, fields: object = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, (body) => resolve(body as T));
      this.child.send({ id, cmd, ...fields }, (err) => err && reject(err));
    });
  }

  /** Memory (after full collections when `gc`), CPU, core counts and event-loop delay since the last snapshot. */
  snapshot(gc = false): Promise<ChildSnapshot> {
    return this.ask<ChildSnapshot>('snapshot', { gc });
  }

  /** Starts timing INVITE/REGISTER → 200 at the gateway's UDP socket. */
  async probeOn(): Promise<void> {
    await this.ask('probe', { on: true });
  }

  /** Stops the probe and returns what it timed. */
  async probeOff(): Promise<ProbeRecord[]> {
    return (await this.ask<{ records: ProbeRecord[] }>('probe', { on: false })).records;
  }

  /** Starts the CPU profiler in the gateway process. */
  async profileStart(): Promise<void> {
    await this.ask('profile');
  }

  /** Stops the CPU profiler and writes the profile (`.cpuprofile`) to `file`. */
  async profileStop(file: string): Promise<void> {
    await this.ask('profile', { file });
  }

  /** Writes a heap snapshot of the gateway process (after full collections) to `file`. */
  async heapSnapshot(file: string): Promise<void> {
    await this.ask('heap-snapshot', { file });
  }

  /** Ends the process at once (no graceful close); idempotent. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      if (this.child.connected) this.child.send({ id: 0, cmd: 'exit' });
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}
