/**
 * Rendering: `CompiledTemplate` + values → wire bytes. A pure function of the template, the context and the
 * random source: no I/O, no hidden state (the `{seq}` counter lives in the context).
 */
import { TemplateError, type Diagnostic } from './errors.ts';
import { applyEncoder, joinSeparator } from './encoders.ts';
import {
  COMPUTED_FILLERS,
  cryptoRandomSource,
  randomDigits,
  uuidV4,
  websocketAccept,
  websocketKey,
  type ComputedFiller,
  type RandomSource,
} from './computed.ts';
import type { FillerContext, FillerValue } from './scopes.ts';
import { EOL_BYTES, type CompiledTemplate, type DefaultEol, type FillerNode, type Node } from './template-types.ts';

export interface RenderOptions {
  /** Render a missing non-conditional filler as empty text with a warning instead of failing. */
  lenient?: boolean;
  /** Line end for head lines without an explicit EOL token, and for the blank line before the body. */
  defaultEol?: DefaultEol;
  /** Randomness and clock for computed fillers (default: node:crypto and the system clock). */
  random?: RandomSource;
}

export interface RenderResult {
  /** Start line and header lines, each with its line end. */
  head: Buffer;
  body: Buffer;
  /** What goes on the wire: head + blank line + body (just the body when the template has no head). */
  bytes: Buffer;
  diagnostics: Diagnostic[];
  /** Values of computed fillers this render used (e.g. the `websocket-key` sent, to check the accept). */
  computed: Record<string, string>;
}

/** Computed filler names as a set: `resolve` asks for every filler of every render. */
const COMPUTED = new Set<string>(COMPUTED_FILLERS);

class RenderState {
  readonly computed: Record<string, string> = {};
  readonly diagnostics: Diagnostic[] = [];
  contentLength: number | undefined;
  /** Set when a conditional filler or a section was dropped since the flag was last cleared. */
  dropped = false;
  constructor(
    readonly t: CompiledTemplate,
    readonly ctx: FillerContext,
    readonly random: RandomSource,
    readonly lenient: boolean,
  ) {}

  /** Value of a filler, or `undefined` when absent. Computed values are made once per render. */
  resolve(name: string, arg?: number): FillerValue | undefined {
    if (COMPUTED.has(name)) return this.computedValue(name as ComputedFiller, arg);
    const direct = this.ctx.lookup(name);
    if (direct !== undefined) return isEmptyList(direct) ? undefined : direct;
    // Indexed form of a multi-valued filler: {oauth-cookie.1} is the first item (1-based).
    const m = /^(.+)\.([1-9][0-9]*)$/.exec(name);
    if (!m) return undefined;
    const base = this.ctx.lookup(m[1]);
    const idx = Number(m[2]);
    if (base === undefined) return undefined;
    if (typeof base === 'string') return idx === 1 ? base : undefined;
    return base[idx - 1];
  }

  private computedValue(name: ComputedFiller, arg?: number): string {
    const key = arg === undefined ? name : `${name}:${arg}`;
    const have = this.computed[key];
    if (have !== undefined) return have;
    let v: string;
    switch (name) {
      case 'content-length':
        if (this.contentLength === undefined) throw new Error('content-length resolved before the body');
        v = String(this.contentLength);
        break;
      case 'websocket-key':
      case 'websocket-accept': {
        // The context may bind the key (a server answering a real request); otherwise one is made.
        const bound = this.ctx.lookup('websocket-key');
        const k = typeof bound === 'string' ? bound : (this.computed['websocket-key'] ??= websocketKey(this.random));
        v = name === 'websocket-key' ? k : websocketAccept(k);
        break;
      }
      case 'uuid':
        v = uuidV4(this.random);
        break;
      case 'now-iso':
        v = this.random.now().toISOString();
        break;
      case 'seq':
        v = String(this.ctx.nextSeq ? this.ctx.nextSeq() : 1);
        break;
      case 'rand-digits':
        v = randomDigits(this.random, arg ?? 1);
        break;
      default:
        throw new Error(`no computation for {${name}}`);
    }
    this.computed[key] = v;
    return v;
  }
}

function isEmptyList(v: FillerValue): boolean {
  return typeof v !== 'string' && v.length === 0;
}

function encode(s: string, f: FillerNode): string {
  for (const e of f.encoders) s = applyEncoder(e, s);
  return s;
}

/** The last value each encoded filler rendered, and its encoding: encoders are pure, and most fillers repeat. */
const lastEncoded = new WeakMap<FillerNode, { value: string; encoded: string }>();

function encodeValue(v: FillerValue, f: FillerNode): string {
  if (typeof v === 'string') {
    if (f.encoders.length === 0) return v;
    const last = lastEncoded.get(f);
    if (last !== undefined && last.value === v) return last.encoded;
    const encoded = encode(v, f);
    if (last !== undefined) {
      last.value = v;
      last.encoded = encoded;
    } else lastEncoded.set(f, { value: v, encoded });
    return encoded;
  }
  return v.map((x) => encode(x, f)).join(joinSeparator(f.encoders));
}

/** Renders nodes after `out` and returns the text; sets `st.dropped` when a conditional filler or a section was dropped. */
function renderNodes(st: RenderState, nodes: readonly Node[], out: string): string {
  for (const n of nodes) {
    switch (n.kind) {
      case 'text':
        out += n.text;
        break;
      case 'eol':
        out += EOL_BYTES[n.eol];
        break;
      case 'section': {
        const present = st.resolve(n.name) !== undefined;
        if (present !== n.inverted) out = renderNodes(st, n.children, out);
        else st.dropped = true;
        break;
      }
      case 'filler': {
        const v = st.resolve(n.name, n.arg);
        if (v === undefined) {
          if (n.conditional) {
            st.dropped = true;
            break;
          }
          if (!st.lenient) {
            throw new TemplateError(
              'template.missing-filler',
              `filler {${n.name}} has no value (message ${st.t.name}, line ${n.line})`,
              { template: st.t.name, file: st.t.file, line: n.line, column: n.column, filler: n.name },
            );
          }
          st.diagnostics.push({
            severity: 'warning',
            code: 'render.lenient-missing-filler',
            message: `filler {${n.name}} has no value; rendered empty (lenient)`,
            template: st.t.name,
            file: st.t.file,
            line: n.line,
            column: n.column,
            filler: n.name,
          });
          out += n.lead;
          break;
        }
        out += n.lead + encodeValue(v, n);
        break;
      }
    }
  }
  return out;
}

/**
 * Renders a compiled template. Throws `TemplateError` `template.missing-filler` (naming the filler, the message
 * and the line) when a non-conditional filler has no value; nothing is returned then, so nothing can be sent.
 */
export function renderTemplate(t: CompiledTemplate, ctx: FillerContext, opts: RenderOptions = {}): RenderResult {
  const st = new RenderState(t, ctx, opts.random ?? cryptoRandomSource, opts.lenient === true);
  const eol = EOL_BYTES[opts.defaultEol ?? 'CRLF'];

  const bodyText = renderNodes(st, t.body, '');
  // {content-length} counts the body's bytes after encoding (RFC 9110 §8.6: octets, not characters).
  const bodyLength = Buffer.byteLength(bodyText, 'utf8');
  st.contentLength = bodyLength;

  let headText = '';
  for (const line of t.head) {
    st.dropped = false;
    const text = renderNodes(st, line.nodes, '');
    // A line left blank by a dropped conditional goes entirely, EOL included: it would end the header block.
    if (st.dropped && text.trim() === '') continue;
    headText += text + (line.eol ? EOL_BYTES[line.eol] : eol);
  }
  // One allocation for the wire bytes; head and body are views of it.
  const sep = t.head.length ? eol : '';
  const bytes = Buffer.from(headText + sep + bodyText, 'utf8');
  const headLength = bytes.length - bodyLength - sep.length;
  const head = bytes.subarray(0, headLength);
  const body = bytes.subarray(bytes.length - bodyLength);
  return { head, body, bytes, diagnostics: st.diagnostics, computed: st.computed };
}
