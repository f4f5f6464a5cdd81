/**
 * The location service of RFC 3261 §10: for each AOR (here: each user of the domain), the contacts
 * bound to it, each with its own lifetime, Call-ID and CSeq. A binding removes itself when it
 * expires; every timer is unref'd and cleared by `close()`.
 */
import { formatUri, parseUri, uriEquals, type SipUri } from '../message/index.ts';
import type { Flow, TransportProtocol } from '../transport/index.ts';
import type { BindingInfo } from './types.ts';

export interface Binding {
  user: string;
  /** The Contact URI as registered (parsed once, for comparisons). */
  uri: SipUri;
  /** The Contact URI as written in the REGISTER. */
  text: string;
  expiresAt: number;
  callId: string;
  cseq: number;
  q?: number;
  instance?: string;
  /** How the REGISTER arrived: its stream connection is preferred to reach the contact. */
  flow: Flow;
}

/** One change a REGISTER asks for, validated before any is applied (RFC 3261 §10.3 step 7). */
export type BindingChange =
  | { kind: 'remove'; existing: Binding }
  | { kind: 'upsert'; existing?: Binding; binding: Omit<Binding, 'expiresAt'>; expires: number };

export class LocationService {
  private readonly table = new Map<string, Binding[]>();
  private readonly timers = new Map<Binding, NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly domain: string, private readonly now: () => number = Date.now) {}

  /** Current bindings of a user, oldest first. */
  lookup(user: string): Binding[] {
    return this.table.get(user) ?? [];
  }

  /** The binding of `user` whose contact equals `uri` (RFC 3261 §19.1.4 comparison, §10.3 step 7). */
  find(user: string, uri: SipUri): Binding | undefined {
    return this.lookup(user).find((b) => uriEquals(b.uri, uri));
  }

  /** The binding, of any user, whose contact is `uri`: a request sent to a contact reuses its flow. */
  findContact(uri: SipUri): Binding | undefined {
    for (const list of this.table.values()) for (const b of list) if (uriEquals(b.uri, uri)) return b;
    return undefined;
  }

  /** Applies a validated set of changes for one user at once. */
  apply(user: string, changes: BindingChange[]): void {
    if (this.closed) return;
    for (const change of changes) {
      if (change.kind === 'remove') {
        this.remove(change.existing);
        continue;
      }
      if (change.existing) this.remove(change.existing);
      const binding: Binding = { ...change.binding, expiresAt: this.now() + change.expires * 1000 };
      const list = this.table.get(user) ?? [];
      list.push(binding);
      this.table.set(user, list);
      // The binding goes away on its own once its lifetime ends (RFC 3261 §10.2.1.1).
      const timer = setTimeout(() => this.remove(binding), change.expires * 1000);
      timer.unref?.();
      this.timers.set(binding, timer);
    }
  }

  /** Seconds left for a binding, rounded up so a live binding never reports 0. */
  remaining(binding: Binding): number {
    return Math.max(1, Math.ceil((binding.expiresAt - this.now()) / 1000));
  }

  /** Every binding (of one user, or of all), as plain data. */
  snapshot(user?: string): BindingInfo[] {
    const users = user === undefined ? [...this.table.keys()] : [user];
    const out: BindingInfo[] = [];
    for (const u of users) {
      for (const b of this.lookup(u)) {
        const info: BindingInfo = {
          user: u,
          aor: `sip:${u}@${this.domain}`,
          contact: b.text,
          expires: this.remaining(b),
          expiresAt: b.expiresAt,
          callId: b.callId,
          cseq: b.cseq,
          source: `${b.flow.protocol}:${b.flow.remoteAddress}:${b.flow.remotePort}`,
          protocol: contactProtocol(b.uri),
        };
        if (b.q !== undefined) info.q = b.q;
        if (b.instance !== undefined) info.instance = b.instance;
        out.push(info);
      }
    }
    return out;
  }

  /** Number of bindings across all users. */
  get size(): number {
    let n = 0;
    for (const list of this.table.values()) n += list.length;
    return n;
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.table.clear();
  }

  private remove(binding: Binding): void {
    const timer = this.timers.get(binding);
    if (timer) clearTimeout(timer);
    this.timers.delete(binding);
    const list = this.table.get(binding.user);
    if (!list) return;
    const i = list.indexOf(binding);
    if (i !== -1) list.splice(i, 1);
    if (list.length === 0) this.table.delete(binding.user);
  }
}

/** The transport a contact asks for: `;transport=`, sips → TLS, else UDP. */
export function contactProtocol(uri: SipUri): TransportProtocol {
  const t = uri.params.get('transport')?.toLowerCase();
  if (t === 'tcp' || t === 'tls' || t === 'ws' || t === 'wss' || t === 'udp') return t;
  return uri.scheme === 'sips' ? 'tls' : 'udp';
}

/** Parses a contact text again (callers may modify the copy). */
export function contactUri(binding: Binding): SipUri {
  return parseUri(formatUri(binding.uri));
}
