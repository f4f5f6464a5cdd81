import { formatVia, newTag, parseVia, reasonPhrase, type SipRequest, type Via } from '../message/index.ts';
import { normalizeHost } from './address.ts';
import type { Flow } from './types.ts';

/**
 * RFC 3261 §18.2.1 and RFC 3581 §4: note on the top Via where a request really came from.
 * `received` is added when the sent-by host is not the source address (a name, or NAT), and a
 * valueless `rport` gets the source port. Returns whether the Via changed.
 */
export function stampVia(req: SipRequest, flow: Flow): boolean {
  const via = req.topVia;
  const updated = stampedVia(via, flow);
  if (!updated) return false;
  req.headers.replaceFirst('Via', formatVia(updated));
  return true;
}

/** The Via with received/rport filled in, or undefined when nothing needs to change. */
export function stampedVia(via: Via, flow: Flow): Via | undefined {
  const source = normalizeHost(flow.remoteAddress);
  const needReceived = normalizeHost(via.host) !== source;
  const needRport = via.params.has('rport') && via.params.get('rport') === null;
  if (!needReceived && !needRport) return undefined;
  const params = new Map(via.params);
  // RFC 3581 §4: with rport, received is added even when sent-by already equals the source.
  params.set('received', source);
  if (needRport) params.set('rport', String(flow.remotePort));
  return { ...via, params };
}

/** Long names of the headers a minimal response copies, by lower-case name or compact form. */
const COPIED: Record<string, string> = {
  via: 'Via',
  v: 'Via',
  from: 'From',
  f: 'From',
  to: 'To',
  t: 'To',
  'call-id': 'Call-ID',
  i: 'Call-ID',
  cseq: 'CSeq',
};

const REQUEST_LINE = /^([A-Za-z0-9.!%*_+`'~-]+) (\S+) (SIP\/\S+)$/;
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x08\x0a-\x1f\x7f]/;

export interface MinimalRequest {
  method: string;
  /** Header lines to copy into the response, long names, in order. */
  headers: Array<[string, string]>;
  /** The first Via element, parsed. */
  topVia: Via;
}

/**
 * Reads as much of a broken message as an error response needs: the request line and the Via,
 * From, To, Call-ID and CSeq lines (RFC 3261 §8.2.6.2 copies those). Returns undefined when the
 * input is not a request or carries no readable Via to answer along.
 */
export function salvageRequest(head: Buffer): MinimalRequest | undefined {
  // latin1 maps every byte to one character, so nothing in the input can make this throw.
  const text = head.toString('latin1').replace(/^(\r?\n)+/, '');
  const lines = text.split(/\r?\n/);
  const start = REQUEST_LINE.exec(lines[0] ?? '');
  if (!start) return undefined;
  const method = start[1];
  const headers: Array<[string, string]> = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') break;
    if ((line[0] === ' ' || line[0] === '\t') && headers.length) {
      // Header folding (RFC 3261 §7.3.1): a continuation of the previous line.
      const last = headers[headers.length - 1];
      if (last[0] !== '') last[1] += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      headers.push(['', '']); // keeps folding from attaching to a header we do not copy
      continue;
    }
    const name = COPIED[line.slice(0, colon).trim().toLowerCase()];
    headers.push([name ?? '', line.slice(colon + 1).trim()]);
  }
  const copied = headers.filter(([n, v]) => n !== '' && v !== '' && !UNSAFE.test(v));
  const vias = copied.filter(([n]) => n === 'Via');
  if (vias.length === 0) return undefined;
  try {
    return { method, headers: copied, topVia: parseVia(vias[0][1].split(',')[0]) };
  } catch {
    return undefined; // a Via we cannot read gives no address to answer to
  }
}

/**
 * A stateless error response to a request the parser rejected, built by hand since no
 * SipRequest exists: status line, the copied headers (top Via stamped as in §18.2.1, a To tag
 * added per §8.2.6.2), `Content-Length: 0`.
 */
export function buildMinimalResponse(req: MinimalRequest, status: number, flow: Flow): Buffer {
  const lines = [`SIP/2.0 ${status} ${reasonPhrase(status)}`];
  let firstVia = true;
  let sawTo = false;
  for (const [name, value] of req.headers) {
    let v = value;
    if (name === 'Via' && firstVia) {
      firstVia = false;
      const stamped = stampedVia(req.topVia, flow);
      if (stamped) {
        const rest = value.split(',').slice(1);
        v = [formatVia(stamped), ...rest.map((s) => s.trim())].join(', ');
      }
    }
    if (name === 'To') {
      if (sawTo) continue;
      sawTo = true;
      if (!/;\s*tag\s*=/i.test(v)) v += `;tag=${newTag()}`;
    }
    lines.push(`${name}: ${v}`);
  }
  lines.push('Content-Length: 0', '', '');
  return Buffer.from(lines.join('\r\n'), 'latin1');
}
