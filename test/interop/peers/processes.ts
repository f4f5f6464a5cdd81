// Bookkeeping for the peer processes (SIPp, Kamailio) that interop tests start: a process-exit hook
// that kills whatever a crashed or aborted test left running, temp directories that go away with
// the test process, and a /proc reader to prove that nothing outlived a test.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const liveChildren = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let hookInstalled = false;

/** Set PORTICO_KEEP_PEER_FILES=1 to keep peer logs and configs after the test process ends. */
const keepFiles = (): boolean => process.env.PORTICO_KEEP_PEER_FILES === '1';

function killLeftovers(): void {
  for (const child of liveChildren) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        // A process group was created for every peer (detached spawn): take its children too.
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        try {
          child.kill('SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  }
  liveChildren.clear();
  if (!keepFiles()) {
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    tempDirs.clear();
  }
}

function installHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on('exit', killLeftovers);
  // A signal ends the test process without 'exit'; clean up, then let the signal do its default.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killLeftovers();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/** Remember a peer process so that it is killed if the test process exits first. */
export function trackChild(child: ChildProcess): void {
  installHook();
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

/** A fresh temp directory, removed when the test process exits (unless PORTICO_KEEP_PEER_FILES=1). */
export function makeTempDir(prefix: string): string {
  installHook();
  const dir = mkdtempSync(join(tmpdir(), `portico-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Kernel command name (at most 15 characters), e.g. `sipp`, `kamailio`. */
  comm: string;
  /** One-letter state from /proc/<pid>/stat: R, S, D, Z (zombie), ... */
  state: string;
}

function readStat(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Format: pid (comm) state ppid ...; comm may itself contain spaces or parentheses.
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const rest = stat.slice(close + 2).split(' ');
    return { pid, comm: stat.slice(open + 1, close), state: rest[0] ?? '?', ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

/** Every process whose parent chain leads to `rootPid` (default: this process), zombies excluded. */
export function descendants(rootPid: number = process.pid): ProcessInfo[] {
  const all: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readStat(Number(name));
    if (info && info.state !== 'Z') all.push(info);
  }
  const byParent = new Map<number, ProcessInfo[]>();
  for (const info of all) {
    const list = byParent.get(info.ppid) ?? [];
    list.push(info);
    byParent.set(info.ppid, list);
  }
  const found: ProcessInfo[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    for (const child of byParent.get(pid) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** True while `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const info = readStat(pid);
  return info !== undefined && info.state !== 'Z';
}

/** Resolves when every pid is gone, or after `timeoutMs` with the ones still alive. */
export async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(isAlive);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    alive = alive.filter(isAlive);
  }
  return alive;
}

/** CPU time (user + system) consumed so far by the given processes, in ms; gone pids count 0. */
export function cpuTimeMs(pids: number[]): number {
  // /proc/<pid>/stat fields 14 and 15 (utime, stime) are in clock ticks; Linux reports 100 per second.
  const ticksPerSecond = 100;
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // rest[0] is field 3 (state), so field n is rest[n - 3].
      ticks += Number(rest[11]) + Number(rest[12]);
    } catch {
      /* gone */
    }
  }
  return (ticks * 1000) / ticksPerSecond;
}
