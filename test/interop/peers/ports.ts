// Free ephemeral ports on loopback for peers (SIPp, Kamailio) that need a port number in their
// command line or config before they start. We bind port 0, read the number the kernel picked and
// release it. Another process could grab it in between; the window is short, and handing out each
// number only once per process keeps our own peers from colliding with each other.
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

export type PortProtocol = 'udp' | 'tcp';

const LOOPBACK = '127.0.0.1';
/** Numbers already handed out by this process; never given twice. */
const handedOut = new Set<number>();

function bindUdp(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(undefined);
    });
    socket.bind(port, host, () => {
      const bound = socket.address().port;
      socket.close(() => resolve(bound));
    });
  });
}

function bindTcp(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

function bind(protocol: PortProtocol, port: number, host: string): Promise<number | undefined> {
  return protocol === 'udp' ? bindUdp(port, host) : bindTcp(port, host);
}

/** True when `port` can be bound right now for every protocol in `protocols`. */
export async function isPortFree(port: number, protocols: PortProtocol[] = ['udp', 'tcp'], host = LOOPBACK): Promise<boolean> {
  for (const protocol of protocols) {
    if ((await bind(protocol, port, host)) === undefined) return false;
  }
  return true;
}

export interface FreePortOptions {
  /** Protocols the port must be free for (default: the one asked for). */
  protocols?: PortProtocol[];
  /** Also require `port + k` free for every k here (SIPp's RTP echo uses the media port and media port + 2). */
  alsoFree?: number[];
  host?: string;
}

/**
 * One free port: the kernel's ephemeral pick for the first protocol, checked against the others
 * (and any `alsoFree` offsets), never a number already handed out by this process.
 */
export async function freePort(protocol: PortProtocol = 'udp', opts: FreePortOptions = {}): Promise<number> {
  const host = opts.host ?? LOOPBACK;
  const protocols = opts.protocols ?? [protocol];
  const offsets = [0, ...(opts.alsoFree ?? [])];
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = await bind(protocols[0] ?? protocol, 0, host);
    if (port === undefined) continue;
    const candidates = offsets.map((k) => port + k);
    if (candidates.some((p) => p > 65535 || handedOut.has(p))) continue;
    let ok = true;
    for (const p of candidates) {
      if (!(await isPortFree(p, protocols, host))) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    for (const p of candidates) handedOut.add(p);
    return port;
  }
  throw new Error(`no free ${protocols.join('+')} port found on ${host}`);
}

export const freeUdpPort = (host = LOOPBACK): Promise<number> => freePort('udp', { host });
export const freeTcpPort = (host = LOOPBACK): Promise<number> => freePort('tcp', { host });

/** A port free for both UDP and TCP (SIP over UDP and TCP on one number, as RFC 3261 §18 listeners usually are). */
export const freeUdpTcpPort = (host = LOOPBACK): Promise<number> => freePort('udp', { protocols: ['udp', 'tcp'], host });

/** `count` distinct free ports for one protocol. */
export async function freePorts(count: number, protocol: PortProtocol = 'udp', opts: FreePortOptions = {}): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await freePort(protocol, opts));
  return ports;
}

/**
 * True when some process has `port` bound on IPv4 for `protocol` (a UDP socket, or a TCP socket in
 * LISTEN). Reads /proc/net instead of trying to bind, so it never steals the port from a peer that
 * is about to bind it.
 */
export async function isListening(protocol: PortProtocol, port: number): Promise<boolean> {
  let table: string;
  try {
    table = await readFile(protocol === 'udp' ? '/proc/net/udp' : '/proc/net/tcp', 'utf8');
  } catch {
    return false;
  }
  const wanted = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    const state = fields[3];
    if (!local || !local.endsWith(wanted)) continue;
    // 07 = UDP socket with no connected peer; 0A = TCP LISTEN.
    if ((protocol === 'udp' && state === '07') || (protocol === 'tcp' && state === '0A')) return true;
  }
  return false;
}
