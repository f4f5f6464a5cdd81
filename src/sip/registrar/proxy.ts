/**
 * The forwarding half of a stateful proxy (RFC 3261 §16): Route preprocessing (§16.4), building
 * one copy of the request per target with Max-Forwards, Record-Route and our Via (§16.6), a
 * response context per request (§16.7, `response-context.ts`), CANCEL (§16.10), and the
 * transaction-less forwarding of ACKs for 2xx along the route we recorded.
 */
import type { SipLogger } from '../logger.ts';
import {
  cloneUri,
  formatUri,
  newBranch,
  parseNameAddr,
  type SipRequest,
  type SipResponse,
  type SipUri,
} from '../message/index.ts';
import type { AnyServerTransaction, ServerTransaction, TransactionLayer } from '../transaction/index.ts';
import type { Flow, SendTarget, TransportProtocol, TransportSet } from '../transport/index.ts';
import type { DomainAddresses } from './domain-addresses.ts';
import type { Binding } from './location-service.ts';
import { ResponseContext } from './response-context.ts';

export interface ProxyEnv {
  transport: TransportSet;
  transactions: TransactionLayer;
  addresses: DomainAddresses;
  log: SipLogger;
  timerCMs: number;
  buildResponse(req: SipRequest, status: number, reason?: string, headers?: Array<[string, string]>): SipResponse;
  /** The registered binding whose contact is `uri`, if any: its flow reaches the contact best. */
  bindingFor(uri: SipUri): Binding | undefined;
}

/** Where one branch goes: a new Request-URI (a contact) or none (keep it), and the flow to prefer. */
export interface Destination {
  uri?: SipUri;
  binding?: Binding;
}

/** Dialog-creating requests we stay in the path of (RFC 3261 §16.6 step 4). */
const RECORD_ROUTED = new Set(['INVITE', 'SUBSCRIBE', 'REFER']);

export class Proxy {
  private readonly contexts = new Map<AnyServerTransaction, ResponseContext>();
  /** Requests sent downstream, per method (one per branch; ACKs for 2xx included). */
  readonly forwarded = new Map<string, number>();

  constructor(private readonly env: ProxyEnv) {}

  /** Requests being proxied right now. */
  get pending(): number {
    return this.contexts.size;
  }

  /**
   * RFC 3261 §16.4: undo a strict router's rewrite (our Record-Route in the Request-URI), then drop
   * the Route values that name us. Returns whether the request came through a route of ours.
   */
  preprocessRoutes(req: SipRequest): boolean {
    let viaUs = false;
    const routes = req.headers.getAll('Route');
    if (routes.length > 0 && !req.uri.user && req.uri.params.has('lr') && this.env.addresses.isOurListener(req.uri)) {
      // The previous hop routes strictly: the real Request-URI is the last Route value
      const last = this.parseRoute(routes[routes.length - 1]!);
      if (last) {
        req.uri = last;
        req.headers.delete('Route');
        for (const r of routes.slice(0, -1)) req.headers.append('Route', r);
        viaUs = true;
      }
    }
    // Remove every leading value naming us: with double record-routing there are two (RFC 5658)
    for (;;) {
      const top = req.headers.getAll('Route')[0];
      if (top === undefined) break;
      const uri = this.parseRoute(top);
      if (!uri || !this.env.addresses.isUs(uri)) break;
      req.headers.removeFirst('Route');
      viaUs = true;
    }
    return viaUs;
  }

  /**
   * Forwards `req` (already preprocessed and authorised) through `tx` to every destination in
   * parallel (RFC 3261 §16.5, §16.6), and answers upstream from the response context.
   */
  async forward(tx: ServerTransaction, req: SipRequest, destinations: Destination[]): Promise<void> {
    const server = tx as AnyServerTransaction;
    const ctx = new ResponseContext(server, {
      transactions: this.env.transactions,
      log: this.env.log,
      timerCMs: this.env.timerCMs,
      buildResponse: (r, status, reason) => this.env.buildResponse(r, status, reason),
      done: (c) => {
        if (this.contexts.get(c.server) === c) this.contexts.delete(c.server);
      },
    });
    this.contexts.set(server, ctx);
    // A 100 Trying at once stops the caller's retransmissions while we fork (RFC 3261 §16.2)
    if (ctx.isInvite) this.safeRespond(tx, this.env.buildResponse(tx.request, 100));
    const branches = await Promise.all(destinations.map((d) => this.prepare(req, d, tx.flow.protocol).catch(() => undefined)));
    for (const b of branches) {
      if (b) ctx.fork(b.request, b.target);
      else ctx.failBranch(503);
    }
    ctx.seal();
  }

  /** CANCEL (RFC 3261 §16.10): 200 to it, then every pending branch of its INVITE is cancelled. */
  cancel(cancel: SipRequest, tx: ServerTransaction): void {
    const invite = this.env.transactions.findInviteServerTransaction(cancel);
    if (!invite) {
      // Deviation: a CANCEL matching nothing is answered 481 rather than forwarded statelessly.
      this.safeRespond(tx, this.env.buildResponse(cancel, 481));
      return;
    }
    this.safeRespond(tx, this.env.buildResponse(cancel, 200));
    this.contexts.get(invite)?.cancel();
  }

  /**
   * An ACK for a 2xx is its own transaction-less request (RFC 3261 §13.2.2.4): forwarded like any
   * in-dialog request along our recorded route, never answered.
   */
  async forwardAck(ack: SipRequest): Promise<void> {
    const req = ack.clone();
    if (!this.preprocessRoutes(req)) return; // not routed through us: not ours to relay
    const mf = req.maxForwards;
    if (mf === 0) return;
    if (!req.headers.has('Route') && this.env.addresses.isUs(req.uri)) return; // nowhere to go
    const prepared = await this.prepare(req, { binding: this.env.bindingFor(req.uri) }, undefined);
    await this.env.transactions.sendAck2xx(prepared.request, prepared.target);
  }

  close(): void {
    for (const ctx of this.contexts.values()) ctx.close();
    this.contexts.clear();
  }

  /**
   * One copy of the request for one destination (RFC 3261 §16.6): Request-URI, Max-Forwards,
   * Record-Route, next hop from the top Route or the Request-URI (§16.6 step 7), our Via.
   */
  private async prepare(
    req: SipRequest,
    dest: Destination,
    inbound: TransportProtocol | undefined,
  ): Promise<{ request: SipRequest; target: SendTarget }> {
    const copy = req.clone();
    if (dest.uri) copy.uri = cloneUri(dest.uri); // step 2
    // Step 3: one hop less; 70 when the sender gave none
    const mf = copy.maxForwards;
    copy.headers.set('Max-Forwards', String(mf === undefined ? 70 : mf - 1));

    // Step 6: a next hop that routes strictly gets the Request-URI as its Route and becomes it
    const topRoute = copy.headers.getAll('Route')[0];
    let next = copy.uri;
    if (topRoute !== undefined) {
      const route = this.parseRoute(topRoute);
      if (!route) throw new Error('bad Route');
      if (route.params.has('lr')) next = route;
      else {
        copy.headers.removeFirst('Route');
        copy.headers.append('Route', `<${formatUri(copy.uri)}>`);
        copy.uri = route;
        next = route;
      }
    }
    // Step 7: where to send it (RFC 3263); a registered contact is reached over its REGISTER's flow
    if (this.env.addresses.isOurListener(next)) throw new Error('next hop is this server');
    const [resolved] = await this.env.transport.resolve(next);
    if (!resolved) throw new Error(`no address for ${formatUri(next)}`);
    const target: SendTarget = { ...resolved };
    const flow: Flow | undefined = dest.binding?.flow;
    if (flow && topRoute === undefined && flow.protocol === target.protocol && flow.connectionId) target.connectionId = flow.connectionId;

    // Step 4: stay in the path of dialog-creating requests (RFC 3261 §16.6), twice when the
    // transport changes so each side finds us on its own (RFC 5658)
    if (inbound && RECORD_ROUTED.has(copy.method) && !copy.toTag) {
      if (inbound !== target.protocol) {
        const back = this.routeValue(inbound);
        if (back) copy.headers.prepend('Record-Route', back);
      }
      const out = this.routeValue(target.protocol);
      if (out) copy.headers.prepend('Record-Route', out);
    }

    // Step 8: our Via on top, new branch per copy, rport for the answer (RFC 3581)
    const by = this.env.addresses.sentBy(target.protocol) ?? this.env.addresses.sentBy('udp') ?? this.env.addresses.sentBy('tcp');
    if (!by) throw new Error('no listener to name in Via');
    copy.headers.prepend('Via', `SIP/2.0/${target.protocol.toUpperCase()} ${by.host}:${by.port};branch=${newBranch()};rport`);
    this.forwarded.set(copy.method, (this.forwarded.get(copy.method) ?? 0) + 1);
    return { request: copy, target };
  }

  /** Our Record-Route value for one transport: `<sip:host:port;transport=tcp;lr>`. */
  private routeValue(protocol: TransportProtocol): string | undefined {
    const by = this.env.addresses.sentBy(protocol);
    if (!by) return undefined;
    return `<sip:${by.host}:${by.port}${protocol === 'udp' ? '' : `;transport=${protocol}`};lr>`;
  }

  private parseRoute(value: string): SipUri | undefined {
    try {
      return parseNameAddr(value).uri;
    } catch {
      return undefined;
    }
  }

  private safeRespond(tx: ServerTransaction, res: SipResponse): void {
    try {
      tx.respond(res);
    } catch (err) {
      this.env.log.debug({ err, status: res.status }, 'could not respond');
    }
  }
}
