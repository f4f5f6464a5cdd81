/** The parent's side of media-echo-child.ts. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { trackChild } from '../../test/interop/peers/processes.ts';

const CHILD = fileURLToPath(new URL('./media-echo-child.ts', import.meta.url));

export class EchoProcess {
  private nextReq = 1;
  private readonly waiting = new Map<number, (m: { cpuUs: number; echoed: number }) => void>();

  private constructor(
    private readonly child: ChildProcess,
    /** The echo's UDP port on 127.0.0.1. */
    readonly port: number,
  ) {
    child.on('message', (m: { t: string; req?: number; cpuUs: number; echoed: number }) => {
      if (m.t === 'stats' && m.req !== undefined) {
        this.waiting.get(m.req)?.(m);
        this.waiting.delete(m.req);
      }
    });
  }

  static async start(): Promise<EchoProcess> {
    const child = fork(CHILD, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    trackChild(child);
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { t: string; port: number }) => (m.t === 'ready' ? resolve(m.port) : reject(new Error('unexpected message'))));
      child.once('exit', (code) => reject(new Error(`the echo exited during start (${code})`)));
    });
    return new EchoProcess(child, port);
  }

  stats(): Promise<{ cpuUs: number; echoed: number }> {
    const req = this.nextReq++;
    return new Promise((resolve) => {
      this.waiting.set(req, resolve);
      this.child.send({ t: 'stats', req });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    if (this.child.connected) this.child.send({ t: 'close', req: 0 });
    await exited;
    clearTimeout(timer);
  }
}
