/**
 * What the kernel saw of the bench's processes.
 *
 * Datagrams the kernel dropped per UDP socket (the last column of /proc/net/udp: a full receive
 * buffer, or a failed checksum), summed over a set of local ports, so a bench can say whose
 * socket lost packets: the relay's, the echo's, or the load generator's.
 */
import { readFileSync } from 'node:fs';

/** Drops by local port, for every IPv4 UDP socket in this network namespace. */
export function udpDropsByPort(): Map<number, number> {
  const out = new Map<number, number>();
  let text = '';
  try {
    text = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 13) continue;
    const port = parseInt(cols[1]!.split(':')[1] ?? '', 16);
    const drops = Number(cols[cols.length - 1]);
    if (Number.isFinite(port) && Number.isFinite(drops)) out.set(port, (out.get(port) ?? 0) + drops);
  }
  return out;
}

export function sumDrops(byPort: Map<number, number>, ports: Iterable<number>): number {
  let n = 0;
  for (const p of new Set(ports)) n += byPort.get(p) ?? 0;
  return n;
}

/**
 * Time this process's main thread ran and waited for a CPU while runnable, ns, from
 * /proc/self/schedstat: on a machine shared with other work, waiting shows up as event-loop
 * delay that is not the relay's own doing.
 */
export function schedStat(): { runNs: number; waitNs: number } {
  try {
    const [run, wait] = readFileSync('/proc/self/schedstat', 'utf8').trim().split(/\s+/).map(Number);
    return { runNs: run ?? 0, waitNs: wait ?? 0 };
  } catch {
    return { runNs: 0, waitNs: 0 };
  }
}
