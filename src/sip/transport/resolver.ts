import type { SipUri } from '../message/index.ts';
import { isIpLiteral, normalizeHost } from './address.ts';
import { TransportError } from './errors.ts';
import { defaultPort, toTransportProtocol, type DnsLookup, type SendTarget, type TransportProtocol } from './types.ts';

/** NAPTR services we understand (RFC 3263 §4.1, RFC 7118 §8 for WebSocket). */
const NAPTR_SERVICES: Record<string, TransportProtocol> = {
  'SIP+D2U': 'udp',
  'SIP+D2T': 'tcp',
  'SIPS+D2T': 'tls',
  'SIP+D2W': 'ws',
  'SIPS+D2W': 'wss',
};

/** SRV owner-name prefix per transport (RFC 3263 §4.1). */
const SRV_PREFIX: Record<TransportProtocol, string> = {
  udp: '_sip._udp.',
  tcp: '_sip._tcp.',
  tls: '_sips._tcp.',
  ws: '_sip._ws.',
  wss: '_sips._ws.',
};

const SECURE: ReadonlySet<TransportProtocol> = new Set(['tls', 'wss']);

/** A URI's transport, secure scheme, host (maddr first) and TLS server name, before DNS. */
interface Plan {
  sips: boolean;
  transport: TransportProtocol | undefined;
  host: string;
  serverName: string | undefined;
}

/** TLS and WSS targets carry the name their certificate must show (RFC 5922 §4). */
function withServerName(t: SendTarget, serverName: string | undefined): SendTarget {
  return SECURE.has(t.protocol) && serverName ? { ...t, serverName } : t;
}

function noTarget(uri: SipUri): TransportError {
  return new TransportError('SIP_ERR_TRANSPORT_RESOLVE', `no target found for ${uri.scheme}:${uri.host}`);
}

/** DNS answers meaning "no such record", as opposed to a failing server. */
function isNoData(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ENODATA' || code === 'ENOTFOUND' || code === 'NOTFOUND' || code === 'ENONAME';
}

async function orEmpty<T>(p: Promise<T[]>): Promise<T[]> {
  try {
    return await p;
  } catch (err) {
    if (isNoData(err)) return [];
    throw err;
  }
}

/** RFC 2782: lowest priority first; within a priority, a weighted random order. */
export function orderSrv<T extends { priority: number; weight: number }>(records: T[], random = Math.random): T[] {
  const byPriority = new Map<number, T[]>();
  for (const r of records) {
    const list = byPriority.get(r.priority);
    if (list) list.push(r);
    else byPriority.set(r.priority, [r]);
  }
  const out: T[] = [];
  for (const prio of [...byPriority.keys()].sort((a, b) => a - b)) {
    // Zero weights first so they keep a small chance of coming early (RFC 2782 "Usage rules").
    const pool = byPriority.get(prio)!.sort((a, b) => a.weight - b.weight);
    while (pool.length) {
      const total = pool.reduce((s, r) => s + r.weight, 0);
      let pick = random() * (total + 1);
      let i = 0;
      for (; i < pool.length - 1; i++) {
        pick -= pool[i].weight;
        if (pick < 1) break;
      }
      out.push(pool.splice(i, 1)[0]);
    }
  }
  return out;
}

/**
 * Finds where to send a request for a URI (RFC 3263 §4): an IP literal goes straight to its port
 * (no DNS); a name with a port gets A/AAAA only; otherwise NAPTR picks the transport, SRV the
 * servers, and A/AAAA their addresses, with the §4.1/§4.2 fallbacks when records are missing.
 * TLS targets carry the URI's host as `serverName`: that is the identity the certificate must
 * show (RFC 5922 §4), not the SRV target.
 */
export class SipResolver {
  private readonly dns: DnsLookup;
  private readonly supports: (p: TransportProtocol) => boolean;

  /** `supports` says which transports we can send on (e.g. UDP only with a UDP listener). */
  constructor(dns: DnsLookup, supports: (p: TransportProtocol) => boolean) {
    this.dns = dns;
    this.supports = supports;
  }

  resolve(uri: SipUri): Promise<SendTarget[]> {
    const plan = this.plan(uri);
    // An IP literal (or a transport we lack) is answered without DNS and without an async step.
    const known = plan === undefined ? [] : this.literal(uri, plan);
    if (known !== undefined) return known.length > 0 ? Promise.resolve(known) : Promise.reject(noTarget(uri));
    return this.lookup(uri, plan!).then(
      (targets) => {
        if (targets.length === 0) throw noTarget(uri);
        return targets;
      },
      (err: unknown) => {
        throw new TransportError('SIP_ERR_TRANSPORT_RESOLVE', `DNS lookup for ${uri.host} failed: ${(err as Error).message}`, undefined, err);
      },
    );
  }

  /** What the URI asks for before any DNS (RFC 3263 §4.1); undefined when no target can serve it. */
  private plan(uri: SipUri): Plan | undefined {
    const sips = uri.scheme.toLowerCase() === 'sips';
    const param = uri.params.get('transport');
    let transport = param === undefined || param === null ? undefined : toTransportProtocol(param);
    if (param && !transport) return undefined; // a transport we do not implement (e.g. sctp)
    // A SIPS URI over TCP means TLS (RFC 3261 §26.2.2); over WS, WSS.
    if (sips && transport === 'tcp') transport = 'tls';
    if (sips && transport === 'ws') transport = 'wss';
    if (sips && transport && !SECURE.has(transport)) return undefined;
    // maddr overrides the host (RFC 3261 §19.1.1, RFC 3263 §4).
    const maddr = uri.params.get('maddr');
    const host = normalizeHost(maddr || uri.host);
    const serverName = isIpLiteral(uri.host) ? undefined : normalizeHost(uri.host);
    return { sips, transport, host, serverName };
  }

  /** RFC 3263 §4.1/§4.2: an IP literal needs no DNS at all. Undefined for a name. */
  private literal(uri: SipUri, plan: Plan): SendTarget[] | undefined {
    if (!isIpLiteral(plan.host)) return undefined;
    const protocol = plan.transport ?? (plan.sips ? 'tls' : 'udp');
    return [withServerName({ protocol, host: plan.host, port: uri.port ?? defaultPort(protocol) }, plan.serverName)];
  }

  private async lookup(uri: SipUri, plan: Plan): Promise<SendTarget[]> {
    const { sips, host, serverName } = plan;
    const transport = plan.transport;
    const withName = (t: SendTarget): SendTarget => withServerName(t, serverName);

    // A port with a name: A/AAAA only.
    if (uri.port !== undefined) {
      const protocol = transport ?? (sips ? 'tls' : 'udp');
      return (await this.addresses(host)).map((a) => withName({ protocol, host: a, port: uri.port! }));
    }
    if (transport) {
      // Transport known: SRV for it, else A/AAAA on the default port (RFC 3263 §4.2).
      const viaSrv = await this.srvTargets(SRV_PREFIX[transport] + host, transport);
      if (viaSrv.length) return viaSrv.map(withName);
      return (await this.addresses(host)).map((a) => withName({ protocol: transport!, host: a, port: defaultPort(transport!) }));
    }

    // Transport unknown: NAPTR (RFC 3263 §4.1).
    const naptr = (await orEmpty(this.dns.resolveNaptr(host)))
      .filter((r) => r.flags.toLowerCase() === 's' && r.replacement)
      .map((r) => ({ ...r, protocol: NAPTR_SERVICES[r.service.toUpperCase()] }))
      .filter((r) => r.protocol !== undefined && this.supports(r.protocol) && (!sips || SECURE.has(r.protocol)))
      .sort((a, b) => a.order - b.order || a.preference - b.preference);
    for (const r of naptr) {
      const found = await this.srvTargets(r.replacement, r.protocol);
      if (found.length) return found.map(withName);
    }
    if (naptr.length === 0) {
      // No usable NAPTR: SRV for each transport we support, in our order of preference.
      const order: TransportProtocol[] = sips ? ['tls', 'wss'] : ['udp', 'tcp', 'tls'];
      for (const protocol of order.filter(this.supports)) {
        const found = await this.srvTargets(SRV_PREFIX[protocol] + host, protocol);
        if (found.length) return found.map(withName);
      }
    }
    // Nothing in SRV either: A/AAAA with UDP (sip) or TLS (sips) on the default port (§4.2).
    const protocol: TransportProtocol = sips ? 'tls' : 'udp';
    return (await this.addresses(host)).map((a) => withName({ protocol, host: a, port: defaultPort(protocol) }));
  }

  private async srvTargets(name: string, protocol: TransportProtocol): Promise<SendTarget[]> {
    const records = orderSrv(await orEmpty(this.dns.resolveSrv(name)));
    const out: SendTarget[] = [];
    for (const r of records) {
      if (r.name === '' || r.name === '.') continue; // "service not available here" (RFC 2782)
      for (const a of await this.addresses(r.name)) out.push({ protocol, host: a, port: r.port });
    }
    return out;
  }

  /** A then AAAA records of a name. */
  private async addresses(name: string): Promise<string[]> {
    const [v4, v6] = await Promise.all([orEmpty(this.dns.resolve4(name)), orEmpty(this.dns.resolve6(name))]);
    return [...v4, ...v6];
  }
}
