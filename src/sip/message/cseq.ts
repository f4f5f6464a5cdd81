/** CSeq (RFC 3261 §20.16, §8.1.1.5): `1*DIGIT LWS Method`, the number below 2**31. */
import { TOKEN, skipWs } from './chars.ts';
import { fail } from './errors.ts';

export interface CSeq {
  seq: number;
  method: string;
}

const MAX_SEQ = 2 ** 31 - 1;

export function parseCSeq(text: string): CSeq {
  const end = text.length;
  let i = skipWs(text, 0, end);
  const numStart = i;
  let seq = 0;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    seq = seq * 10 + (c - 0x30);
    i++;
    // Stop early on absurd lengths instead of building a huge float.
    if (seq > MAX_SEQ) fail('SIP_ERR_BAD_CSEQ', 'CSeq number exceeds 2**31-1', numStart);
  }
  if (i === numStart) fail('SIP_ERR_BAD_CSEQ', 'CSeq without a number', i);
  const afterNum = i;
  i = skipWs(text, i, end);
  if (i === afterNum) fail('SIP_ERR_BAD_CSEQ', 'CSeq number not followed by whitespace', i);
  const methodStart = i;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c > 0xff || TOKEN[c] === 0) break;
    i++;
  }
  if (i === methodStart) fail('SIP_ERR_BAD_CSEQ', 'CSeq without a method', i);
  const method = text.slice(methodStart, i);
  if (skipWs(text, i, end) !== end) fail('SIP_ERR_BAD_CSEQ', 'trailing characters after CSeq method', i);
  return { seq, method };
}

export function formatCSeq(cseq: CSeq): string {
  return `${cseq.seq} ${cseq.method}`;
}
