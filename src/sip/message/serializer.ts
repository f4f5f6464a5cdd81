/**
 * Writes a message to the wire: start line, header lines in their order as `Name: value`, a
 * Content-Length computed from the body (RFC 3261 §18.3: always present, so streams can frame),
 * an empty line and the body. Header text is encoded as UTF-8 (RFC 3261 §7.3.1 TEXT-UTF8).
 */
import type { SipMessageBase } from './message.ts';

export function serializeMessage(msg: SipMessageBase): Buffer {
  const h = msg.headers;
  const body = msg.body;
  // One string, one encode: cheaper than a Buffer per line.
  let head = msg.startLine() + '\r\n';
  for (let i = 0, n = h.size; i < n; i++) {
    if (h.keyAt(i) === 'content-length') continue;
    head += h.nameAt(i) + ': ' + h.valueAt(i) + '\r\n';
  }
  head += 'Content-Length: ' + body.length + '\r\n\r\n';
  const headLength = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLength + body.length);
  out.write(head, 0, headLength, 'utf8');
  if (body.length > 0) body.copy(out, headLength);
  return out;
}
