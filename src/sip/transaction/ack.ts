/**
 * The ACK an INVITE client transaction sends for a non-2xx final response (RFC 3261 §17.1.1.3).
 * ACK for 2xx is a new transaction-less request built by the TU (RFC 3261 §13.2.2.4).
 */
import { SipHeaders, SipRequest, cloneUri, type SipResponse } from '../message/index.ts';

/**
 * Same Request-URI, Call-ID, From and CSeq number as the INVITE, To of the response (with its tag),
 * exactly one Via equal to the INVITE's top Via, and the INVITE's Route set (RFC 3261 §17.1.1.3).
 */
export function buildNon2xxAck(invite: SipRequest, res: SipResponse): SipRequest {
  const h = new SipHeaders();
  // The top Via as it was sent, branch included, so the server transaction matches it (§17.2.3)
  h.append('Via', invite.headers.getAll('Via')[0] ?? '');
  for (const route of invite.headers.getLines('Route')) h.append('Route', route);
  h.append('Max-Forwards', '70');
  h.append('From', invite.headers.get('From') ?? '');
  h.append('To', res.headers.get('To') ?? '');
  h.append('Call-ID', invite.callId);
  h.append('CSeq', `${invite.cseq.seq} ACK`);
  return new SipRequest('ACK', cloneUri(invite.uri), h);
}
