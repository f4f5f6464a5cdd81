/**
 * DTMF as RFC 4733 telephone events: reading them from a stream (one digit per event, reported
 * once when its end packet arrives) and writing them into one (a digit the bridge was asked to
 * send, e.g. from a SIP INFO).
 *
 * Payload (RFC 4733 §2.3): event (8 bits), E (end), R, volume (6 bits), duration (16 bits, in
 * units of the stream's clock). One event keeps one RTP timestamp, its start, for all its packets
 * (§2.5.1.2); the first carries the marker bit (§2.5.1.1) and the end packet is sent three times
 * (§2.5.1.4).
 */

/** Events 0-15 (RFC 4733 §3.2). */
export const DTMF_EVENTS = '0123456789*#ABCD';

export interface TelephoneEvent {
  /** `0`-`9`, `*`, `#`, `A`-`D`; undefined for events beyond the DTMF range. */
  digit: string | undefined;
  event: number;
  end: boolean;
  volume: number;
  /** In clock units. */
  duration: number;
}

export function readTelephoneEvent(payload: Buffer): TelephoneEvent | undefined {
  if (payload.length < 4) return undefined;
  const event = payload[0]!;
  return { digit: DTMF_EVENTS[event], event, end: (payload[1]! & 0x80) !== 0, volume: payload[1]! & 0x3f, duration: payload.readUInt16BE(2) };
}

export function telephoneEventPayload(event: number, end: boolean, duration: number, volume = 10): Buffer {
  const b = Buffer.alloc(4);
  b[0] = event;
  b[1] = (end ? 0x80 : 0) | (volume & 0x3f);
  b.writeUInt16BE(Math.min(0xffff, Math.max(0, Math.round(duration))), 2);
  return b;
}

/** A digit heard on a stream, once, when its event ended. */
export interface DtmfDigit {
  digit: string;
  durationMs: number;
}

/**
 * Turns one stream's telephone-event packets into digits. An event is identified by its RTP
 * timestamp; its (up to three) end packets yield one digit. An event whose end never comes is
 * reported when the next event starts.
 */
export class DtmfReader {
  private current: { ts: number; digit: string; duration: number; done: boolean } | undefined;

  /** `payload` of a telephone-event packet with RTP timestamp `ts`; returns the digits now complete. */
  read(ts: number, payload: Buffer, clockRate: number): DtmfDigit[] {
    const ev = readTelephoneEvent(payload);
    if (!ev || ev.digit === undefined) return [];
    const out: DtmfDigit[] = [];
    const cur = this.current;
    const ms = (d: number) => Math.round((d * 1000) / clockRate);
    if (!cur || cur.ts !== ts) {
      if (cur && !cur.done) out.push({ digit: cur.digit, durationMs: ms(cur.duration) });
      this.current = { ts, digit: ev.digit, duration: ev.duration, done: false };
    } else cur.duration = Math.max(cur.duration, ev.duration);
    const now = this.current!;
    if (ev.end && !now.done) {
      now.done = true;
      out.push({ digit: now.digit, durationMs: ms(now.duration) });
    }
    return out;
  }
}

/** One packet of a generated event: payload, marker, and how long after the event's start it goes. */
export interface GeneratedPacket {
  payload: Buffer;
  marker: boolean;
  atMs: number;
}

/**
 * The packets of one digit lasting `durationMs` (RFC 4733 §2.5.1): every `packetMs` a packet with
 * the duration so far, then the end packet three times.
 */
export function dtmfPackets(digit: string, durationMs: number, clockRate: number, packetMs = 20): GeneratedPacket[] {
  const event = DTMF_EVENTS.indexOf(digit.toUpperCase());
  if (event < 0 || digit.length !== 1) throw new RangeError(`not a DTMF digit: ${digit}`);
  const total = Math.max(packetMs, Math.min(durationMs, 5000));
  const units = (ms: number) => (ms * clockRate) / 1000;
  const out: GeneratedPacket[] = [];
  for (let t = packetMs; t < total; t += packetMs) out.push({ payload: telephoneEventPayload(event, false, units(t)), marker: out.length === 0, atMs: t - packetMs });
  for (let i = 0; i < 3; i++) out.push({ payload: telephoneEventPayload(event, true, units(total)), marker: out.length === 0, atMs: total - packetMs });
  return out;
}
