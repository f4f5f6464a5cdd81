import type { ExpectSpec, ExtractRule, MatchSpec, ScopeName } from '../model/index.ts';
import { headerValue, headerValues } from './http-client.ts';
import { interpolate, type Lookup } from './interpolate.ts';
import { jsonValueToFiller, resolvePointer } from './json-pointer.ts';

/**
 * What extraction and matching look at: an HTTP response (status, headers, body) or one WebSocket
 * frame (body only). The body is parsed as JSON at most once, on first use.
 */
export class Subject {
  private parsed: unknown;
  private parsedDone = false;
  private text: string | undefined;

  constructor(readonly body: Buffer | string, readonly status?: number, readonly headers: [string, string][] = []) {}

  get bodyText(): string {
    if (this.text === undefined) this.text = typeof this.body === 'string' ? this.body : this.body.toString('utf8');
    return this.text;
  }

  /** The body as JSON, or undefined when it is not JSON. */
  get json(): unknown {
    if (!this.parsedDone) {
      this.parsedDone = true;
      try {
        this.parsed = JSON.parse(this.bodyText);
      } catch {
        this.parsed = undefined;
      }
    }
    return this.parsed;
  }
}

export interface Extracted {
  name: string;
  value: string | string[];
  scope: ScopeName;
}

/**
 * Applies extraction rules (reference §2.4). Returns the values found and, per rule that found
 * nothing and has no default, a failure message (counted as `extract-miss`).
 */
export function extractValues(rules: Record<string, ExtractRule>, subj: Subject): { values: Extracted[]; failures: string[] } {
  const values: Extracted[] = [];
  const failures: string[] = [];
  for (const [name, rule] of Object.entries(rules)) {
    const v = extractOne(rule, subj);
    if (v !== undefined) values.push({ name, value: v, scope: rule.scope });
    else if (rule.default !== undefined) values.push({ name, value: rule.default, scope: rule.scope });
    else if (!rule.optional) failures.push(`${name}: ${describeRule(rule)} found nothing`);
  }
  return { values, failures };
}

function describeRule(r: ExtractRule): string {
  switch (r.source) {
    case 'json': return `json ${r.pointers.join(' else ')}`;
    case 'header': return `header ${r.header}${r.query ? ` query ${r.query}` : ''}${r.regex ? ` regex ${r.regex.source}` : ''}`;
    case 'cookie': return `cookie ${r.cookie}`;
    case 'regex': return `regex ${r.regex?.source}`;
    default: return r.source;
  }
}

function applyRegex(re: RegExp, text: string, group: number): string | undefined {
  const m = re.exec(text);
  return m ? (m[group] ?? m[0]) : undefined;
}

function extractOne(rule: ExtractRule, subj: Subject): string | string[] | undefined {
  switch (rule.source) {
    case 'status':
      return subj.status !== undefined ? String(subj.status) : undefined;
    case 'body':
      return rule.regex ? applyRegex(rule.regex, subj.bodyText, rule.group) : subj.bodyText;
    case 'regex':
      return applyRegex(rule.regex!, subj.bodyText, rule.group);
    case 'json': {
      const doc = subj.json;
      if (doc === undefined) return undefined;
      for (const p of rule.pointers) {
        const v = resolvePointer(doc, p);
        if (v !== undefined && v !== null) {
          const s = jsonValueToFiller(v);
          return rule.regex ? applyRegex(rule.regex, s, rule.group) : s;
        }
      }
      return undefined;
    }
    case 'header': {
      const all = rule.all ? headerValues(subj.headers, rule.header!) : [];
      if (rule.all) return all.length ? all.map((v) => refineHeader(rule, v)).filter((v): v is string => v !== undefined) : undefined;
      const v = headerValue(subj.headers, rule.header!);
      return v === undefined ? undefined : refineHeader(rule, v);
    }
    case 'cookie': {
      const cookies = headerValues(subj.headers, 'set-cookie').map((c) => c.split(';')[0]!.trim());
      if (rule.cookie === '*') return cookies.length ? cookies : undefined;
      for (const c of cookies) {
        const eq = c.indexOf('=');
        if (eq > 0 && c.slice(0, eq) === rule.cookie) return c.slice(eq + 1);
      }
      return undefined;
    }
  }
}

function refineHeader(rule: ExtractRule, value: string): string | undefined {
  let v: string | undefined = value;
  if (rule.query !== undefined) v = queryParam(v, rule.query);
  if (v !== undefined && rule.regex) v = applyRegex(rule.regex, v, rule.group);
  return v;
}

/** A query parameter of a URL-valued header; tolerant of relative and mangled URLs. */
export function queryParam(url: string, name: string): string | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const params = new URLSearchParams(url.slice(q + 1).split('#')[0]);
  return params.get(name) ?? undefined;
}

/** Checks one condition; returns undefined when it holds, else why not. */
export function checkMatch(m: MatchSpec, subj: Subject, ctx: Lookup | undefined): string | undefined {
  const iv = (s: string, where: string): string => (ctx ? interpolate(s, ctx, where) : s);
  let actual: string | undefined;
  if (m.json !== undefined) {
    const doc = subj.json;
    if (doc === undefined) return 'not JSON';
    const v = resolvePointer(doc, m.json);
    const exists = v !== undefined;
    if (m.exists === false) return exists ? `${m.json} is present` : undefined;
    if (!exists) return `${m.json} is absent`;
    actual = jsonValueToFiller(v);
  } else {
    actual = subj.bodyText;
  }
  const where = m.json ?? 'body';
  if (m.equals !== undefined && m.equals !== null) {
    const want = typeof m.equals === 'string' ? iv(m.equals, `match ${where}`) : String(m.equals);
    if (actual !== want) return `${where} is ${JSON.stringify(clip(actual))}, expected ${JSON.stringify(want)}`;
  }
  if (m['not-equals'] !== undefined && m['not-equals'] !== null) {
    const bad = typeof m['not-equals'] === 'string' ? iv(m['not-equals'], `match ${where}`) : String(m['not-equals']);
    if (actual === bad) return `${where} is ${JSON.stringify(bad)}`;
  }
  if (m['one-of'] && !m['one-of'].map((x) => String(x)).includes(actual)) return `${where} is ${JSON.stringify(clip(actual))}, expected one of ${m['one-of'].join(', ')}`;
  if (m.contains !== undefined && !actual.includes(iv(m.contains, `match ${where}`))) return `${where} does not contain ${JSON.stringify(m.contains)}`;
  if (m.regex !== undefined && !new RegExp(m.regex).test(actual)) return `${where} does not match /${m.regex}/`;
  return undefined;
}

function clip(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

export type ExpectFailure = { reason: 'status-mismatch' | 'header-mismatch' | 'body-mismatch'; detail: string };

/** Checks a response against `expect`; the first unmet expectation wins. */
export function checkExpect(exp: ExpectSpec | undefined, subj: Subject, ctx: Lookup): ExpectFailure | undefined {
  if (!exp) return undefined;
  if (exp.status !== undefined) {
    const s = exp.status;
    // One number is the usual case: compare it without building a list.
    const ok = typeof s === 'number' ? s === subj.status : (Array.isArray(s) ? s : [s]).some((w) => statusMatches(w, subj.status!));
    if (!ok) return { reason: 'status-mismatch', detail: `status ${subj.status}, expected ${(Array.isArray(s) ? s : [s]).join(' or ')}` };
  }
  if (exp.headers) for (const [name, want] of Object.entries(exp.headers)) {
    const v = headerValue(subj.headers, name);
    if (want !== null && typeof want === 'object') {
      if (want.exists === false) {
        if (v !== undefined) return { reason: 'header-mismatch', detail: `${name} is present` };
        continue;
      }
      if (v === undefined) return { reason: 'header-mismatch', detail: `${name} is absent` };
      if (want.equals !== undefined && v !== interpolate(want.equals, ctx, `expect header ${name}`)) return { reason: 'header-mismatch', detail: `${name} is ${JSON.stringify(v)}` };
      if (want.contains !== undefined && !v.includes(want.contains)) return { reason: 'header-mismatch', detail: `${name} is ${JSON.stringify(v)}` };
      if (want.regex !== undefined && !new RegExp(want.regex, 'i').test(v)) return { reason: 'header-mismatch', detail: `${name} is ${JSON.stringify(v)}` };
    } else {
      if (v === undefined) return { reason: 'header-mismatch', detail: `${name} is absent` };
      if (want !== null && v !== interpolate(String(want), ctx, `expect header ${name}`)) return { reason: 'header-mismatch', detail: `${name} is ${JSON.stringify(v)}, expected ${JSON.stringify(want)}` };
    }
  }
  if (exp.body === undefined) return undefined;
  const bodies = Array.isArray(exp.body) ? exp.body : [exp.body];
  for (const m of bodies) {
    const why = checkMatch(m, subj, ctx);
    if (why) return { reason: 'body-mismatch', detail: why };
  }
  return undefined;
}

function statusMatches(want: number | string, got: number): boolean {
  if (typeof want === 'number') return want === got;
  const w = want.trim().toLowerCase();
  if (/^\dxx$/.test(w)) return Math.floor(got / 100) === Number(w[0]);
  return Number(w) === got;
}
