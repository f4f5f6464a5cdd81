import type { CompiledTemplate, TemplateNode } from '../template/index.ts';

/**
 * A route the network host answers, derived from a request template's request line: the method,
 * the path with each filler turned into a capture (`/v1/{session-id}/channels` captures
 * `session-id`), and query parameters whose value is a filler (`?clientId={client-id}`).
 */
export interface RoutePattern {
  method: string;
  path: RegExp;
  pathFillers: string[];
  queryFillers: Record<string, string>;
  /** Literal characters in the path: more literal text = more specific, tried first. */
  specificity: number;
  source: string;
}

const MARK = '\u0000';

function flatten(nodes: readonly TemplateNode[], out: string[], names: string[]): boolean {
  for (const n of nodes) {
    if (n.kind === 'text') out.push(n.text);
    else if (n.kind === 'filler') {
      out.push(n.lead, `${MARK}${names.length}${MARK}`);
      names.push(n.name);
    } else if (n.kind === 'section') {
      if (flatten(n.children, out, names)) return true;
    } else return true; // end of line
  }
  return false;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Undefined when the template has no request line (a response, or a body-only frame). */
export function routeFromTemplate(t: CompiledTemplate): RoutePattern | undefined {
  const first = t.head[0];
  if (!first) return undefined;
  const parts: string[] = [];
  const names: string[] = [];
  flatten(first.nodes, parts, names);
  const line = parts.join('');
  const m = /^(\S+) (\S+) HTTP\/\d\.\d$/.exec(line.replace(/[\r\n]+$/, ''));
  if (!m) return undefined;
  const method = m[1]!.toUpperCase();
  let target = m[2]!;
  // An absolute-form target (or one that is a single filler, like {webrtc-srv-url}) keeps its path only.
  const abs = /^[a-z]+:\/\/[^/]*(\/.*)?$/i.exec(target);
  if (abs) target = abs[1] ?? '/';
  const q = target.indexOf('?');
  const pathPart = q >= 0 ? target.slice(0, q) : target;
  const queryPart = q >= 0 ? target.slice(q + 1) : '';
  const pathFillers: string[] = [];
  let specificity = 0;
  const re = pathPart.split(new RegExp(`${MARK}(\\d+)${MARK}`)).map((piece, i) => {
    if (i % 2 === 1) {
      const name = names[Number(piece)]!;
      pathFillers.push(name);
      return pathPart === `${MARK}${piece}${MARK}` ? '(.*)' : '([^/?#]*)';
    }
    specificity += piece.length;
    return escapeRe(piece);
  }).join('');
  const queryFillers: Record<string, string> = {};
  for (const kv of queryPart.split('&')) {
    const eq = kv.indexOf('=');
    if (eq <= 0) continue;
    const val = /^\u0000(\d+)\u0000$/.exec(kv.slice(eq + 1));
    if (val) queryFillers[kv.slice(0, eq)] = names[Number(val[1])]!;
  }
  return { method, path: new RegExp(`^${re}/?$`), pathFillers, queryFillers, specificity, source: line.replace(new RegExp(`${MARK}(\\d+)${MARK}`, 'g'), (_, i: string) => `{${names[Number(i)]}}`) };
}

/** Captured fillers when `method` + `url` (origin-form or absolute-form) fits the route. */
export function matchRoute(r: RoutePattern, method: string, url: string): Record<string, string> | undefined {
  if (r.method !== method.toUpperCase()) return undefined;
  let u = url;
  const abs = /^[a-z]+:\/\/[^/]*(\/.*)?$/i.exec(u);
  if (abs) u = abs[1] ?? '/';
  const q = u.indexOf('?');
  const path = q >= 0 ? u.slice(0, q) : u;
  const m = r.path.exec(path);
  if (!m) return undefined;
  const out: Record<string, string> = {};
  r.pathFillers.forEach((name, i) => {
    const v = m[i + 1];
    if (v !== undefined && v !== '') out[name] = safeDecode(v);
  });
  if (q >= 0) {
    const params = new URLSearchParams(u.slice(q + 1));
    for (const [k, name] of Object.entries(r.queryFillers)) {
      const v = params.get(k);
      if (v !== null && v !== '') out[name] = v;
    }
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
