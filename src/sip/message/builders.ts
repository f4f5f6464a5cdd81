/**
 * Building new messages: requests a UAC sends (RFC 3261 §8.1.1) and responses a UAS answers with
 * (RFC 3261 §8.2.6). Via is left to the transaction layer; Content-Length to the serializer.
 */
import type { CSeq } from './cseq.ts';
import { formatCSeq } from './cseq.ts';
import { SipHeaders, headerKey } from './headers.ts';
import { SipRequest, SipResponse } from './message.ts';
import { formatNameAddr } from './name-addr.ts';
import type { NameAddr } from './name-addr.ts';
import { reasonPhrase } from './reason-phrase.ts';
import { parseUri } from './uri.ts';
import type { SipUri } from './uri.ts';

/** Extra headers: pairs in order, or a record whose array values become several lines. */
export type HeaderInit = Iterable<readonly [string, string]> | Record<string, string | string[]>;

export interface CreateRequestOptions {
  method: string;
  uri: SipUri | string;
  from: NameAddr | string;
  to: NameAddr | string;
  callId: string;
  /** The CSeq number (its method is `method`), or a whole CSeq. */
  cseq: number | CSeq;
  headers?: HeaderInit;
  body?: Buffer | string;
  contentType?: string;
}

export interface CreateResponseOptions {
  /** Added to To when the request's To has no tag (RFC 3261 §8.2.6.2). */
  toTag?: string;
  headers?: HeaderInit;
  body?: Buffer | string;
  contentType?: string;
}

function addHeaders(target: SipHeaders, init: HeaderInit | undefined): void {
  if (init === undefined) return;
  const pairs: Iterable<readonly [string, string]> =
    Symbol.iterator in init ? (init as Iterable<readonly [string, string]>) : Object.entries(init as Record<string, string | string[]>).flatMap(
      ([name, v]) => (Array.isArray(v) ? v.map((x) => [name, x] as const) : [[name, v] as const]),
    );
  for (const [name, value] of pairs) target.append(name, value);
}

function toBody(body: Buffer | string | undefined): Buffer | undefined {
  if (body === undefined) return undefined;
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/** Max-Forwards starts at 70 (RFC 3261 §8.1.1.6). */
const DEFAULT_MAX_FORWARDS = '70';

export function createRequest(o: CreateRequestOptions): SipRequest {
  const uri = typeof o.uri === 'string' ? parseUri(o.uri) : o.uri;
  const cseq: CSeq = typeof o.cseq === 'number' ? { seq: o.cseq, method: o.method } : o.cseq;
  // Extra headers go after the mandatory ones; an array of pairs (the usual form) is appended as
  // it is, anything else through a scratch SipHeaders.
  const pairs: ReadonlyArray<readonly [string, string]> | undefined = Array.isArray(o.headers) ? o.headers : undefined;
  let extra: SipHeaders | undefined;
  if (o.headers !== undefined && pairs === undefined) addHeaders((extra = new SipHeaders()), o.headers);
  const h = new SipHeaders();
  if (!(pairs ? pairs.some(([name]) => headerKey(name) === 'max-forwards') : extra?.has('Max-Forwards'))) {
    h.append('Max-Forwards', DEFAULT_MAX_FORWARDS);
  }
  h.append('To', typeof o.to === 'string' ? o.to : formatNameAddr(o.to));
  h.append('From', typeof o.from === 'string' ? o.from : formatNameAddr(o.from));
  h.append('Call-ID', o.callId);
  h.append('CSeq', formatCSeq(cseq));
  if (pairs) for (const [name, value] of pairs) h.append(name, value);
  else if (extra) for (const [name, value] of extra.entries()) h.append(name, value);
  if (o.contentType !== undefined) h.set('Content-Type', o.contentType);
  return new SipRequest(o.method, uri, h, toBody(o.body));
}

/**
 * A response to `req`: Via lines, From, To (plus tag), Call-ID and CSeq copied (RFC 3261
 * §8.2.6.2), Timestamp echoed in a 100 (§8.2.6.1). Record-Route handling belongs to the dialog layer.
 */
export function createResponse(req: SipRequest, status: number, reason?: string, opts: CreateResponseOptions = {}): SipResponse {
  const h = new SipHeaders();
  for (const via of req.headers.getLines('Via')) h.append('Via', via);
  const rh = req.headers;
  h.append('From', rh.get('From') ?? '');
  let to = rh.get('To') ?? '';
  if (opts.toTag !== undefined && req.toTag === undefined) to += `;tag=${opts.toTag}`;
  h.append('To', to);
  h.append('Call-ID', rh.get('Call-ID') ?? '');
  h.append('CSeq', rh.get('CSeq') ?? '');
  if (status === 100) {
    const timestamp = rh.get('Timestamp');
    if (timestamp !== undefined) h.append('Timestamp', timestamp);
  }
  addHeaders(h, opts.headers);
  if (opts.contentType !== undefined) h.set('Content-Type', opts.contentType);
  return new SipResponse(status, reason ?? reasonPhrase(status), h, toBody(opts.body));
}
