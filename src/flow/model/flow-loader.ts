import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { ZodError, ZodType } from 'zod';
import { parseDuration } from './duration.ts';
import { FlowLoadError, type FlowErrorCode, type FlowIssue } from './flow-errors.ts';
import { extractRuleSchema, flowHeaderSchema, matchSchema, STEP_KINDS, type ExtractRuleSpec, type MatchSpec, type ServeSpec as ServeSpecRaw } from './flow-schema.ts';
import type { ExtractRule, Flow, NumberRange, OnFailure, ScopeName, ServeSpec, SourcePos, Step } from './flow-types.ts';

type Path = (string | number)[];

const DEFAULT_TIMEOUT_MS = 10_000;

/** Reads and validates a flow file. Throws FlowLoadError (with file:line:column) on any problem. */
export function loadFlowFile(path: string): Flow {
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (err) {
    throw new FlowLoadError([{ code: 'FLOW_ERR_NOT_FOUND', message: `cannot read flow: ${(err as Error).message}`, file: path, line: 1, column: 1 }]);
  }
  return parseFlow(source, { file: path });
}

/**
 * Parses flow YAML. Every problem found is collected with its position; if there is any, nothing
 * is returned, so a run never starts from a half-valid flow.
 */
export function parseFlow(source: string, opts: { file?: string } = {}): Flow {
  const file = opts.file ?? '<flow>';
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const ctx = new LoadContext(file, doc, lineCounter, source.split('\n'));
  for (const e of doc.errors) {
    const lp = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
    ctx.issues.push({ code: 'FLOW_ERR_YAML', message: e.message.split('\n')[0]!, file, line: lp.line, column: lp.col });
  }
  if (ctx.issues.length) throw new FlowLoadError(ctx.issues);
  const raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  const header = ctx.validate(flowHeaderSchema, raw, []);
  if (!header) throw new FlowLoadError(ctx.issues);

  const baseDir = file.startsWith('<') ? process.cwd() : dirname(resolve(file));
  const flow: Flow = {
    name: header.name,
    description: header.description,
    kind: header.kind ?? 'client',
    file,
    options: {
      // Landslide ticks the global "Use Default" out of the box; a flow that brings custom
      // templates clearly means to use them unless it says otherwise.
      useDefault: header.options?.['use-default'] ?? header.options?.custom === undefined,
      lenient: header.options?.lenient ?? false,
      timeoutMs: header.options?.timeout !== undefined ? parseDuration(header.options.timeout) : DEFAULT_TIMEOUT_MS,
      custom: header.options?.custom ?? {},
      messageUseDefault: header.options?.['message-use-default'] ?? {},
    },
    vars: stringValues(header.vars),
    ranges: {},
    data: header.data !== undefined ? resolve(baseDir, header.data) : undefined,
    templates: {},
    serve: { sessionKey: header.serve?.['session-key'] ?? 'session-id', vars: stringValues(header.serve?.vars) },
    steps: [],
  };
  for (const [name, r] of Object.entries(header.ranges ?? {})) flow.ranges[name] = toRange(r);
  for (const [name, src] of Object.entries(header.templates ?? {})) {
    flow.templates[name] = { source: src, pos: ctx.bodyPos(['templates', name]) };
  }
  flow.steps = ctx.steps(header.steps, ['steps']);
  ctx.checkReferences(flow.steps);
  if (ctx.issues.length) throw new FlowLoadError(ctx.issues);
  return flow;
}

function stringValues(rec: Record<string, string | number> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(rec ?? {})) out[k] = String(v);
  return out;
}

function toRange(r: { start: string | number; step?: number; prefix?: string }): NumberRange {
  const start = String(r.start);
  return { start: BigInt(start), width: start.length, step: BigInt(r.step ?? 1), prefix: r.prefix ?? '' };
}

class LoadContext {
  readonly issues: FlowIssue[] = [];
  private readonly ids = new Map<string, SourcePos>();
  private readonly gotos: { target: string; path: Path }[] = [];
  private counter = 0;

  constructor(readonly file: string, private readonly doc: Document, private readonly lines: LineCounter, private readonly text: string[]) {}

  /** Position of the node at `path`; for a missing node, its nearest existing parent. */
  pos(path: Path, opts: { key?: boolean } = {}): SourcePos {
    let node: unknown = this.doc.contents;
    let found: YamlNode | undefined = node as YamlNode;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        const last = i === path.length - 1;
        node = last && opts.key ? pair.key : pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
      } else break;
      if (node && typeof node === 'object' && 'range' in node && (node as YamlNode).range) found = node as YamlNode;
      else break;
    }
    const offset = found?.range?.[0] ?? 0;
    const lp = this.lines.linePos(offset);
    return { file: this.file, line: lp.line, column: lp.col };
  }

  /** Where the first line of a block scalar's content sits (for template line numbers). */
  bodyPos(path: Path): SourcePos {
    const p = this.pos(path);
    const src = this.text[p.line - 1] ?? '';
    // A block scalar (`|`) starts on the next line; a plain or quoted one on this line.
    if (/[|>][-+0-9]*\s*(#.*)?$/.test(src.slice(p.column - 1))) {
      const next = this.text[p.line] ?? '';
      return { ...p, line: p.line + 1, column: next.length - next.trimStart().length + 1 };
    }
    return p;
  }

  add(code: FlowErrorCode, message: string, path: Path, opts: { key?: boolean } = {}): void {
    const p = this.pos(path, opts);
    this.issues.push({ code, message, ...p });
  }

  validate<T>(schema: ZodType<T>, value: unknown, path: Path): T | undefined {
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    this.zodIssues(r.error, path);
    return undefined;
  }

  private zodIssues(err: ZodError, base: Path): void {
    for (const issue of err.issues) {
      const path = [...base, ...(issue.path as Path)];
      const where = path.length ? `${path.join('.')}: ` : '';
      if (issue.code === 'unrecognized_keys') {
        for (const k of (issue as { keys: string[] }).keys) this.add('FLOW_ERR_SCHEMA', `${where}unknown field "${k}"`, [...path, k], { key: true });
      } else {
        this.add('FLOW_ERR_SCHEMA', `${where}${issue.message}`, path);
      }
    }
  }

  steps(raw: unknown[], path: Path): Step[] {
    const out: Step[] = [];
    raw.forEach((item, i) => {
      const s = this.step(item, [...path, i]);
      if (s) out.push(s);
    });
    return out;
  }

  private step(raw: unknown, path: Path): Step | undefined {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
      this.add('FLOW_ERR_SCHEMA', `${path.join('.')}: a step is a mapping such as {send: MESSAGE_ID}`, path);
      return undefined;
    }
    const kinds = Object.keys(raw).filter((k) => k in STEP_KINDS);
    const primary = kinds.filter((k) => !(k === 'template' && kinds.includes('ws-send')) && !(k === 'set' && kinds.length > 1));
    const distinct = new Set(primary.map((k) => (k === 'template' || k === 'bytes' ? 'send' : k)));
    if (distinct.size !== 1) {
      const msg = distinct.size === 0
        ? `${path.join('.')}: unknown step; expected one of send, template, bytes, ws-open, ws-send, await, ws-close, pause, set, goto, loop, block`
        : `${path.join('.')}: a step has exactly one action, found ${[...distinct].join(', ')}`;
      this.add('FLOW_ERR_SCHEMA', msg, path);
      return undefined;
    }
    const kind = [...distinct][0] as keyof typeof STEP_KINDS;
    const spec = this.validate(STEP_KINDS[kind] as ZodType<Record<string, unknown>>, raw, path);
    if (!spec) return undefined;
    const pos = this.pos(path);
    const id = spec.id as string | undefined;
    if (id !== undefined) {
      if (this.ids.has(id)) this.add('FLOW_ERR_REFERENCE', `duplicate step id "${id}"`, [...path, 'id']);
      else this.ids.set(id, pos);
    }
    const onFailure = this.onFailure(spec['on-failure'] as string | undefined, [...path, 'on-failure']);
    const n = ++this.counter;
    const base = {
      id,
      onFailure,
      timeoutMs: spec.timeout !== undefined ? parseDuration(spec.timeout as string | number) : undefined,
      vars: spec.vars as Record<string, string> | undefined,
      pos,
    };
    const label = (fallback: string): string => (spec.label as string | undefined) ?? id ?? fallback;
    switch (kind) {
      case 'send': {
        const sources = ['send', 'template', 'bytes'].filter((k) => spec[k] !== undefined);
        if (sources.length !== 1) {
          this.add('FLOW_ERR_SCHEMA', 'a send step has exactly one of send (message id), template (inline) or bytes (raw)', path);
          return undefined;
        }
        return {
          ...base,
          kind: 'send',
          label: label((spec.send as string | undefined) ?? `send#${n}`),
          message: spec.send as string | undefined,
          template: spec.template as string | undefined,
          templatePos: spec.template !== undefined ? this.bodyPos([...path, 'template']) : undefined,
          bytes: spec.bytes as string | undefined,
          verbatim: (spec.verbatim as boolean | undefined) ?? spec.bytes !== undefined,
          target: spec.target as string | undefined,
          response: spec.response as string | undefined,
          expect: spec.expect as never,
          extract: this.extractMap(spec.extract as Record<string, ExtractRuleSpec> | undefined, [...path, 'extract']),
          serve: this.serve(spec.serve as ServeSpecRaw | undefined, [...path, 'serve']),
        };
      }
      case 'ws-open': {
        const sp = spec.subprotocol as string | string[] | undefined;
        return {
          ...base,
          kind: 'ws-open',
          label: label(`ws-open#${n}`),
          url: spec['ws-open'] as string,
          name: (spec.name as string | undefined) ?? 'ws',
          subprotocols: sp === undefined ? [] : Array.isArray(sp) ? sp : [sp],
          headers: spec.headers as Record<string, string> | undefined,
          answerConnCheck: (spec['answer-conn-check'] as boolean | undefined) ?? true,
          serve: this.serve(spec.serve as ServeSpecRaw | undefined, [...path, 'serve']),
        };
      }
      case 'ws-send': {
        const bodies = ['json', 'text', 'template'].filter((k) => spec[k] !== undefined);
        if (bodies.length !== 1) {
          this.add('FLOW_ERR_SCHEMA', 'a ws-send step has exactly one of json, text or template', path);
          return undefined;
        }
        return {
          ...base,
          kind: 'ws-send',
          label: label(`ws-send#${n}`),
          name: spec['ws-send'] as string,
          json: spec.json,
          text: spec.text as string | undefined,
          template: spec.template as string | undefined,
          templatePos: spec.template !== undefined ? this.bodyPos([...path, 'template']) : undefined,
          serve: this.serve(spec.serve as ServeSpecRaw | undefined, [...path, 'serve']),
        };
      }
      case 'await':
        return {
          ...base,
          kind: 'await',
          label: label(`await#${n}`),
          name: spec.await as string,
          match: this.matches(spec.match as MatchSpec | MatchSpec[] | undefined, [...path, 'match']),
          extract: this.extractMap(spec.extract as Record<string, ExtractRuleSpec> | undefined, [...path, 'extract']),
          unexpected: (spec.unexpected as 'skip' | 'fail' | undefined) ?? 'skip',
        };
      case 'ws-close':
        return { ...base, kind: 'ws-close', label: label(`ws-close#${n}`), name: spec['ws-close'] as string, code: spec.code as number | undefined };
      case 'pause': {
        const p = spec.pause as string | number | { min: string | number; max: string | number };
        const [minMs, maxMs] = typeof p === 'object' ? [parseDuration(p.min), parseDuration(p.max)] : [parseDuration(p), parseDuration(p)];
        if (maxMs < minMs) this.add('FLOW_ERR_SCHEMA', 'pause: max is below min', [...path, 'pause']);
        return { ...base, kind: 'pause', label: label(`pause#${n}`), minMs, maxMs };
      }
      case 'set':
        return { ...base, kind: 'set', label: label(`set#${n}`), values: spec.set as Record<string, string>, scope: (spec.scope as ScopeName | undefined) ?? 'client' };
      case 'goto':
        this.gotos.push({ target: spec.goto as string, path: [...path, 'goto'] });
        return { ...base, kind: 'goto', label: label(`goto#${n}`), target: spec.goto as string };
      case 'loop':
        return { ...base, kind: 'loop', label: label(`loop#${n}`), times: spec.loop as number | 'forever', steps: this.steps(spec.steps as unknown[], [...path, 'steps']) };
      case 'block':
        return { ...base, kind: 'block', label: label(`${spec.block as string}#${n}`), scope: spec.block as 'call' | 'chat', steps: this.steps(spec.steps as unknown[], [...path, 'steps']) };
      default:
        return undefined;
    }
  }

  private serve(s: ServeSpecRaw | undefined, path: Path): ServeSpec | undefined {
    if (!s) return undefined;
    const { capture, ...rest } = s;
    return { ...rest, capture: this.extractMap(capture, [...path, 'capture']) };
  }

  private onFailure(v: string | undefined, path: Path): OnFailure {
    if (v === undefined || v === 'end') return { kind: 'end' };
    if (v === 'continue') return { kind: 'continue' };
    const target = v.replace(/^goto\s+/, '');
    this.gotos.push({ target, path });
    return { kind: 'goto', target };
  }

  private matches(v: MatchSpec | MatchSpec[] | undefined, path: Path): MatchSpec[] {
    const list = v === undefined ? [] : Array.isArray(v) ? v : [v];
    list.forEach((m, i) => {
      const p = Array.isArray(v) ? [...path, i] : path;
      if (m.regex !== undefined) this.checkRegex(m.regex, [...p, 'regex']);
      if (m.json !== undefined && m.json !== '' && !m.json.startsWith('/')) this.add('FLOW_ERR_SCHEMA', `JSON pointer must start with "/" (RFC 6901 §3): ${m.json}`, [...p, 'json']);
      if (m.json === undefined && m.regex === undefined && m.contains === undefined && m.equals === undefined) {
        this.add('FLOW_ERR_SCHEMA', 'a match needs json, regex, contains or equals', p);
      }
    });
    void matchSchema;
    return list;
  }

  private checkRegex(src: string, path: Path): RegExp | undefined {
    try {
      return new RegExp(src);
    } catch (err) {
      this.add('FLOW_ERR_SCHEMA', `bad regular expression: ${(err as Error).message}`, path);
      return undefined;
    }
  }

  private extractMap(rec: Record<string, ExtractRuleSpec> | undefined, path: Path): Record<string, ExtractRule> | undefined {
    if (!rec) return undefined;
    const out: Record<string, ExtractRule> = {};
    for (const [name, spec] of Object.entries(rec)) {
      const p = [...path, name];
      void extractRuleSchema;
      if (typeof spec === 'string') {
        out[name] = { source: 'json', pointers: [spec], all: false, group: 1, optional: false, scope: 'client' };
        continue;
      }
      const sources = (['json', 'header', 'cookie', 'status', 'body'] as const).filter((k) => spec[k] !== undefined);
      let source: ExtractRule['source'];
      if (sources.length === 0 && spec.regex !== undefined) source = 'regex';
      else if (sources.length === 1) source = sources[0]!;
      else {
        this.add('FLOW_ERR_SCHEMA', `extract ${name}: give exactly one of json, header, regex, cookie, status, body`, p);
        continue;
      }
      const elses = spec.else === undefined ? [] : Array.isArray(spec.else) ? spec.else : [spec.else];
      const pointers = source === 'json' ? [spec.json!, ...elses] : [];
      for (const ptr of pointers) if (ptr !== '' && !ptr.startsWith('/')) this.add('FLOW_ERR_SCHEMA', `extract ${name}: JSON pointer must start with "/": ${ptr}`, p);
      if (spec.query !== undefined && source !== 'header') this.add('FLOW_ERR_SCHEMA', `extract ${name}: query applies to a header holding a URL`, [...p, 'query']);
      const regex = spec.regex !== undefined ? this.checkRegex(spec.regex, [...p, 'regex']) : undefined;
      out[name] = {
        source,
        pointers,
        header: spec.header,
        all: spec.all ?? false,
        query: spec.query,
        regex,
        group: spec.group ?? 1,
        cookie: spec.cookie,
        optional: spec.optional ?? false,
        default: spec.default,
        scope: spec.scope ?? 'client',
      };
    }
    return out;
  }

  checkReferences(_steps: Step[]): void {
    for (const g of this.gotos) {
      if (g.target !== 'end' && !this.ids.has(g.target)) this.add('FLOW_ERR_REFERENCE', `goto target "${g.target}" is not a step id`, g.path);
    }
  }
}
