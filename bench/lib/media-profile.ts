/**
 * Where a process's time went, from the `.cpuprofile` that `node --cpu-prof` writes: self time
 * per function (top N) and per area (our media code, werift, Node's internals, GC, idle).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface ProfileSummary {
  file: string;
  /** Sampled time, ms. */
  totalMs: number;
  /** Share of non-idle time per area, %. */
  areas: Record<string, number>;
  /** The functions with the most self time (non-idle share, %). */
  top: Array<{ fn: string; pct: number }>;
}

function area(url: string, fn: string): string {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(program)') return 'program (native, outside JS)';
  if (url.includes('/src/media/')) return 'portico media';
  if (url.includes('/node_modules/werift/')) return 'werift';
  if (url.includes('/node_modules/')) return 'other packages';
  if (url.startsWith('node:') || url === '') return 'node internals and natives (crypto, dgram)';
  return 'other';
}

/** Summarizes the largest profile in `dir`: the main thread's (a module loader thread writes a small one beside it). */
export function summarizeProfile(dir: string, topN = 12): ProfileSummary | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const file = files.sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
  if (!file) return undefined;
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  const samples = profile.samples?.length ?? 0;
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const msPerHit = samples > 0 ? totalMs / samples : 0;
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  let busy = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const a = area(url, functionName);
    byArea.set(a, (byArea.get(a) ?? 0) + hits);
    if (a === 'idle') continue;
    busy += hits;
    const short = url.replace(/^.*\/(node_modules\/[^/]+|src\/media)\//, '$1/').replace(/^file:\/\//, '');
    const key = `${functionName || '(anonymous)'}${short ? ` ${short}:${lineNumber + 1}` : ''}`;
    byFn.set(key, (byFn.get(key) ?? 0) + hits);
  }
  const pct = (h: number) => Number(((100 * h) / Math.max(1, busy)).toFixed(1));
  const areas: Record<string, number> = {};
  for (const [a, h] of [...byArea].sort((x, y) => y[1] - x[1])) if (a !== 'idle') areas[a] = pct(h);
  areas['idle (share of all samples)'] = Number(((100 * (byArea.get('idle') ?? 0)) / Math.max(1, samples)).toFixed(1));
  const top = [...byFn].sort((x, y) => y[1] - x[1]).slice(0, topN).map(([fn, h]) => ({ fn, pct: pct(h) }));
  return { file: join(dir, file), totalMs: Math.round(totalMs || msPerHit * samples), areas, top };
}
