/**
 * A SIP dialog (RFC 3261 §12): the peer-to-peer relationship an INVITE creates, identified by
 * Call-ID, local tag and remote tag. It owns the state that every in-dialog request needs: the
 * CSeq counters, the remote target and the route set.
 */
import {
  cloneNameAddr,
  cloneUri,
  createRequest,
  formatNameAddr,
  type NameAddr,
  type SipRequest,
  type SipResponse,
  type SipUri,
} from '../message/index.ts';

export type DialogState = 'Early' | 'Confirmed' | 'Terminated';

/** The key a dialog is found by: Call-ID and the two tags, seen from our side. */
export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}\n${localTag}\n${remoteTag}`;
}

export interface DialogInit {
  callId: string;
  localTag: string;
  remoteTag: string;
  localUri: NameAddr;
  remoteUri: NameAddr;
  localContact: NameAddr;
  remoteTarget: SipUri;
  routeSet: NameAddr[];
  localSeq: number;
  remoteSeq: number | undefined;
  secure: boolean;
  state: DialogState;
}

/** What `receiveRequest` decided about an in-dialog request's CSeq (RFC 3261 §12.2.2). */
export type RemoteCSeqCheck = 'ok' | 'out-of-order';

export class Dialog {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  readonly localUri: NameAddr;
  readonly remoteUri: NameAddr;
  readonly secure: boolean;
  localContact: NameAddr;
  remoteTarget: SipUri;
  routeSet: NameAddr[];
  localSeq: number;
  remoteSeq: number | undefined;
  private stateValue: DialogState;

  constructor(init: DialogInit) {
    this.callId = init.callId;
    this.localTag = init.localTag;
    this.remoteTag = init.remoteTag;
    this.localUri = init.localUri;
    this.remoteUri = init.remoteUri;
    this.localContact = init.localContact;
    this.remoteTarget = init.remoteTarget;
    this.routeSet = init.routeSet;
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.secure = init.secure;
    this.stateValue = init.state;
  }

  /**
   * The UAC side of a dialog, from our request and the 1xx (with To tag) or 2xx that created it
   * (RFC 3261 §12.1.2): route set is the response's Record-Route reversed, remote target its Contact.
   */
  static asUac(request: SipRequest, response: SipResponse, localContact: NameAddr): Dialog {
    const remoteTag = response.toTag;
    const localTag = request.fromTag;
    if (!remoteTag || !localTag) throw new Error('a dialog needs tags on both sides (RFC 3261 §12.1.2)');
    const contact = response.contacts()[0];
    return new Dialog({
      callId: request.callId,
      localTag,
      remoteTag,
      localUri: withoutTag(request.from),
      remoteUri: withoutTag(response.to),
      localContact,
      // A 1xx may lack Contact; the Request-URI stands in until one arrives.
      remoteTarget: cloneUri(contact ? contact.uri : request.uri),
      routeSet: response.recordRoutes().reverse(),
      localSeq: request.cseq.seq,
      remoteSeq: undefined,
      secure: request.uri.scheme === 'sips',
      state: response.status < 200 ? 'Early' : 'Confirmed',
    });
  }

  /**
   * The UAS side, from the request and the To tag we chose (RFC 3261 §12.1.1): route set is the
   * request's Record-Route in order, remote target its Contact, remote CSeq its CSeq.
   */
  static asUas(request: SipRequest, localTag: string, localContact: NameAddr, state: DialogState): Dialog {
    const remoteTag = request.fromTag;
    if (!remoteTag) throw new Error('a dialog needs a From tag (RFC 3261 §12.1.1)');
    const contact = request.contacts()[0];
    if (!contact) throw new Error('a dialog-creating request needs a Contact (RFC 3261 §8.1.1.8)');
    return new Dialog({
      callId: request.callId,
      localTag,
      remoteTag,
      localUri: withoutTag(request.to),
      remoteUri: withoutTag(request.from),
      localContact,
      remoteTarget: cloneUri(contact.uri),
      routeSet: request.recordRoutes(),
      // Our first in-dialog request picks its own CSeq (RFC 3261 §12.2.1.1 allows any start below 2^31).
      localSeq: Math.floor(Math.random() * 10_000),
      remoteSeq: request.cseq.seq,
      secure: request.uri.scheme === 'sips',
      state,
    });
  }

  get key(): string {
    return dialogKey(this.callId, this.localTag, this.remoteTag);
  }

  get state(): DialogState {
    return this.stateValue;
  }

  /**
   * Early → Confirmed on a 2xx. For the UAC the route set is recomputed from the 2xx (RFC 3261
   * §13.2.2.4) and the remote target taken from its Contact.
   */
  confirm(response?: SipResponse): void {
    if (this.stateValue === 'Terminated') throw new Error('cannot confirm a terminated dialog');
    if (response) {
      this.routeSet = response.recordRoutes().reverse();
      const contact = response.contacts()[0];
      if (contact) this.remoteTarget = cloneUri(contact.uri);
    }
    this.stateValue = 'Confirmed';
  }

  terminate(): void {
    this.stateValue = 'Terminated';
  }

  /** A target refresh (re-INVITE, UPDATE) replaces the remote target with its Contact (RFC 3261 §12.2). */
  refreshTarget(message: SipRequest | SipResponse): void {
    const contact = message.contacts()[0];
    if (contact) this.remoteTarget = cloneUri(contact.uri);
  }

  /**
   * Checks an incoming in-dialog request's CSeq (RFC 3261 §12.2.2): lower than the last one seen is
   * out of order (the UAS answers 500); ACK and CANCEL reuse their INVITE's number and are not counted.
   */
  receiveRequest(request: SipRequest): RemoteCSeqCheck {
    const { seq, method } = request.cseq;
    if (method === 'ACK' || method === 'CANCEL') return 'ok';
    if (this.remoteSeq !== undefined && seq <= this.remoteSeq) {
      // Equal is a retransmission the transaction layer should have absorbed; treat it as stale too.
      return 'out-of-order';
    }
    this.remoteSeq = seq;
    return 'ok';
  }

  /**
   * Builds an in-dialog request (RFC 3261 §12.2.1.1): To/From with tags, Call-ID, CSeq one above the
   * last (ACK and CANCEL reuse `cseq`), Request-URI and Route from the remote target and route set,
   * loose or strict routing decided by the first route's `lr` parameter.
   */
  createRequest(
    method: string,
    opts: { cseq?: number; headers?: Array<[string, string]>; body?: Buffer | string; contentType?: string } = {},
  ): SipRequest {
    if (this.stateValue === 'Terminated' && method !== 'ACK') throw new Error(`dialog terminated: cannot send ${method}`);
    let seq: number;
    if (opts.cseq !== undefined) seq = opts.cseq;
    else seq = ++this.localSeq;

    let uri: SipUri;
    let routes: NameAddr[];
    const first = this.routeSet[0];
    if (!first || first.uri.params.has('lr')) {
      uri = cloneUri(this.remoteTarget);
      routes = this.routeSet;
    } else {
      // Strict router (RFC 2543 style): it goes in the Request-URI, the remote target last in Route.
      uri = cloneUri(first.uri);
      uri.params.delete('method');
      routes = [...this.routeSet.slice(1), { uri: cloneUri(this.remoteTarget), params: new Map() }];
    }

    const from = cloneNameAddr(this.localUri);
    from.params.set('tag', this.localTag);
    const to = cloneNameAddr(this.remoteUri);
    to.params.set('tag', this.remoteTag);

    const headers: Array<[string, string]> = routes.map((r) => ['Route', formatNameAddr(r)]);
    if (method !== 'ACK' && method !== 'CANCEL' && method !== 'BYE') {
      headers.push(['Contact', formatNameAddr(this.localContact)]);
    }
    if (opts.headers) headers.push(...opts.headers);

    return createRequest({
      method,
      uri,
      from,
      to,
      callId: this.callId,
      cseq: seq,
      headers,
      body: opts.body,
      contentType: opts.contentType,
    });
  }

  /** Where an in-dialog request goes first: the top Route if any, else the Request-URI (RFC 3261 §8.1.2). */
  static nextHop(request: SipRequest): SipUri {
    const route = request.routes()[0];
    return route ? route.uri : request.uri;
  }
}

function withoutTag(na: NameAddr): NameAddr {
  const copy = cloneNameAddr(na);
  copy.params.delete('tag');
  return copy;
}
