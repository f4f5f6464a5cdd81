/**
 * The audio codecs the bridge relays without transcoding: Opus (RFC 7587), PCMU and PCMA
 * (RFC 3551 §4.5.14), and `telephone-event` (RFC 4733) beside them. Both legs must share a codec;
 * payload type numbers may differ per leg and are rewritten on the way through.
 */
import type { MediaSection } from './sdp.ts';
import { attrs } from './sdp.ts';

export interface Codec {
  pt: number;
  /** Lower case: `opus`, `pcmu`, `pcma`, `telephone-event`. */
  name: string;
  clockRate: number;
  channels: number;
  /** The `a=fmtp` parameters, as written. */
  fmtp: string | undefined;
}

/** Static payload types a section may use without `a=rtpmap` (RFC 3551 §6). */
const STATIC: Record<number, { name: string; clockRate: number }> = {
  0: { name: 'pcmu', clockRate: 8000 },
  8: { name: 'pcma', clockRate: 8000 },
  9: { name: 'g722', clockRate: 8000 },
  18: { name: 'g729', clockRate: 8000 },
};

/** Codecs relayed as they are. */
const RELAYED = new Set(['opus/48000', 'pcmu/8000', 'pcma/8000']);

export function codecKey(c: Pick<Codec, 'name' | 'clockRate'>): string {
  return `${c.name}/${c.clockRate}`;
}

export function isAudioCodec(c: Codec): boolean {
  return RELAYED.has(codecKey(c));
}

export function isRelayed(c: Codec): boolean {
  return RELAYED.has(codecKey(c)) || (c.name === 'telephone-event' && (c.clockRate === 8000 || c.clockRate === 48000));
}

/** The section's formats as codecs, in its order; unknown dynamic formats are left out. */
export function readCodecs(section: MediaSection): Codec[] {
  const maps = new Map<number, { name: string; clockRate: number; channels: number }>();
  for (const v of attrs(section, 'rtpmap')) {
    const m = /^(\d+)\s+([^/\s]+)\/(\d+)(?:\/(\d+))?/.exec(v);
    if (m) maps.set(Number(m[1]), { name: (m[2] as string).toLowerCase(), clockRate: Number(m[3]), channels: m[4] ? Number(m[4]) : 1 });
  }
  const fmtps = new Map<number, string>();
  for (const v of attrs(section, 'fmtp')) {
    const m = /^(\d+)\s+(.*)$/.exec(v);
    if (m) fmtps.set(Number(m[1]), m[2] as string);
  }
  const out: Codec[] = [];
  for (const f of section.formats) {
    const pt = Number(f);
    if (!Number.isInteger(pt) || pt < 0 || pt > 127) continue;
    const map = maps.get(pt) ?? (pt < 96 ? STATIC[pt] && { ...STATIC[pt], channels: 1 } : undefined);
    if (!map) continue;
    out.push({ pt, name: map.name, clockRate: map.clockRate, channels: map.channels, fmtp: fmtps.get(pt) });
  }
  return out;
}

/** `opus/48000/2, PCMU/8000` for error messages. */
export function describeCodecs(section: MediaSection): string {
  const maps = attrs(section, 'rtpmap').map((v) => v.replace(/^\d+\s+/, ''));
  const statics = section.formats.filter((f) => Number(f) < 96 && STATIC[Number(f)] && !attrs(section, 'rtpmap').some((v) => v.startsWith(`${f} `)));
  const names = [...maps, ...statics.map((f) => `${STATIC[Number(f)]!.name.toUpperCase()}/8000`)];
  return names.length > 0 ? names.join(', ') : section.formats.join(' ') || 'none';
}

/**
 * The codecs of `ours` (in their order, with their payload types) that `theirs` also has. A
 * `telephone-event` is kept only at the clock rate of a kept audio codec.
 */
export function sharedCodecs(ours: Codec[], theirs: Codec[]): Codec[] {
  const keys = new Set(theirs.map(codecKey));
  const kept = ours.filter((c) => isRelayed(c) && keys.has(codecKey(c)));
  const rates = new Set(kept.filter(isAudioCodec).map((c) => c.clockRate));
  return kept.filter((c) => c.name !== 'telephone-event' || rates.has(c.clockRate));
}

/** Lines for a section offering or answering `codecs`. */
export function codecAttributes(codecs: Codec[]): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  for (const c of codecs) {
    const name = c.name === 'pcmu' || c.name === 'pcma' ? c.name.toUpperCase() : c.name;
    out.push({ name: 'rtpmap', value: `${c.pt} ${name}/${c.clockRate}${c.channels > 1 ? `/${c.channels}` : ''}` });
    if (c.fmtp) out.push({ name: 'fmtp', value: `${c.pt} ${c.fmtp}` });
  }
  return out;
}

/**
 * Payload type rewriting from one leg to the other: for each codec key, the sender's PT → the
 * receiver's PT. Packets whose PT is not in the map are dropped.
 */
export function payloadTypeMap(from: Codec[], to: Codec[]): Map<number, number> {
  const byKey = new Map(to.map((c) => [codecKey(c), c.pt]));
  const map = new Map<number, number>();
  for (const c of from) {
    const pt = byKey.get(codecKey(c));
    if (pt !== undefined) map.set(c.pt, pt);
  }
  return map;
}

/**
 * `codecs` numbered as an established session already numbers them: within one session a payload
 * type keeps its codec (RFC 3264 §8.3.2), so a re-offer uses the numbers agreed before, and a new
 * codec whose number is taken gets a free dynamic one (96-127).
 */
export function renumber(codecs: Codec[], established: Codec[]): Codec[] {
  if (established.length === 0) return codecs;
  const byKey = new Map(established.map((c) => [codecKey(c), c.pt]));
  const used = new Set(established.map((c) => c.pt));
  const out: Codec[] = [];
  for (const c of codecs) {
    const pt = byKey.get(codecKey(c));
    if (pt !== undefined) {
      out.push({ ...c, pt });
      continue;
    }
    let free = c.pt;
    if (used.has(free)) {
      free = 96;
      while (free <= 127 && used.has(free)) free++;
      if (free > 127) continue;
    }
    used.add(free);
    out.push({ ...c, pt: free });
  }
  return out;
}

/** The codecs of `list` that are `telephone-event`, by payload type → clock rate. */
export function telephoneEvents(list: Codec[]): Map<number, number> {
  return new Map(list.filter((c) => c.name === 'telephone-event').map((c) => [c.pt, c.clockRate]));
}
