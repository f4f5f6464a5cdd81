/**
 * Template compiler: source text → `CompiledTemplate` (grammar in src/flow/TEMPLATES.md).
 *
 * A `{` starts a token only when a complete token follows (`{name[:mod…][?]}`, `{#name}`, `{^name}`, `{/name}`,
 * `{CR}`, `{LF}`, `{CRLF}`, `{NOEOL}`, `{LBRACE}`); otherwise it is literal text. JSON never produces such a
 * shape (`{` is followed by `"`, `}` or whitespace), so JSON bodies need no escaping.
 */
import { TemplateError } from './errors.ts';
import {
  ENCODERS,
  type CompileOptions,
  type CompiledTemplate,
  type Encoder,
  type EolKind,
  type FillerNode,
  type HeadLine,
  type Node,
  type SectionNode,
} from './template-types.ts';
import { isParameterisedFiller, COMPUTED_FILLERS } from './computed.ts';

/** The line that separates head and body in a message template file. */
export const BODY_SEPARATOR = '---body---';
const SEPARATOR_RE = /^---body---[ \t]*$/;

// Filler names: lower-case words joined by '-' or '.', e.g. session-id, oauth-cookie.1, resp.chan-create.url.
const NATIVE_FILLER_RE = /^\{([a-z][a-z0-9]*(?:[.-][a-z0-9]+)*)((?::[A-Za-z0-9]+)*)(\?)?\}/;
// Landslide spells names with capitals (`{Content-type}`) and marks conditionals with a `-if` suffix.
const LANDSLIDE_FILLER_RE = /^\{([A-Za-z][A-Za-z0-9]*(?:[.-][A-Za-z0-9]+)*)((?::[A-Za-z0-9]+)*)(\?)?\}/;
const SECTION_RE = /^\{([#^/])([a-z][a-z0-9]*(?:[.-][a-z0-9]+)*)\}/;
const EOL_RE = /^\{(CRLF|CR|LF|NOEOL)\}/;
const LANDSLIDE_CRLF_RE = /^\{CR\}[ \t]*\{LF\}/;
const LBRACE = '{LBRACE}';

type RawToken =
  | { t: 'text'; text: string; col: number }
  | { t: 'eol'; eol: EolKind; col: number }
  | { t: 'filler'; name: string; mods: string[]; conditional: boolean; raw: string; col: number }
  | { t: 'section'; mark: '#' | '^' | '/'; name: string; raw: string; col: number };

/** True when the text at `i` would be read as a token by the native tokenizer (used by the printer). */
export function startsToken(s: string, i: number): boolean {
  if (s[i] !== '{') return false;
  const rest = s.slice(i);
  return EOL_RE.test(rest) || rest.startsWith(LBRACE) || SECTION_RE.test(rest) || NATIVE_FILLER_RE.test(rest);
}

function tokenizeLine(src: string, landslide: boolean): RawToken[] {
  const out: RawToken[] = [];
  let text = '';
  let textCol = 0;
  const pushText = (s: string, col: number) => {
    if (text === '') textCol = col;
    text += s;
  };
  const flush = () => {
    if (text !== '') out.push({ t: 'text', text, col: textCol });
    text = '';
  };
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{', i);
    if (open < 0) {
      pushText(src.slice(i), i);
      break;
    }
    if (open > i) pushText(src.slice(i, open), i);
    i = open;
    const rest = src.slice(i);
    let m: RegExpExecArray | null;
    if (landslide && (m = LANDSLIDE_CRLF_RE.exec(rest))) {
      flush();
      out.push({ t: 'eol', eol: 'CRLF', col: i });
      i += m[0].length;
    } else if ((m = EOL_RE.exec(rest))) {
      flush();
      out.push({ t: 'eol', eol: m[1] as EolKind, col: i });
      i += m[0].length;
    } else if (!landslide && rest.startsWith(LBRACE)) {
      pushText('{', i);
      i += LBRACE.length;
    } else if ((m = SECTION_RE.exec(rest))) {
      flush();
      out.push({ t: 'section', mark: m[1] as '#' | '^' | '/', name: m[2], raw: m[0], col: i });
      i += m[0].length;
    } else if ((m = (landslide ? LANDSLIDE_FILLER_RE : NATIVE_FILLER_RE).exec(rest))) {
      flush();
      let name = m[2] === undefined ? m[1] : m[1];
      let conditional = m[3] === '?';
      if (landslide) {
        name = name.toLowerCase();
        if (name.endsWith('-if')) {
          name = name.slice(0, -3);
          conditional = true;
        }
      }
      const mods = m[2] ? m[2].slice(1).split(':') : [];
      out.push({ t: 'filler', name, mods, conditional, raw: m[0], col: i });
      i += m[0].length;
    } else {
      pushText('{', i);
      i += 1;
    }
  }
  flush();
  return out;
}

interface Ctx {
  opts: CompileOptions;
  startLine: number;
  indent: number;
  fillers: Set<string>;
}

function where(ctx: Ctx, line: number, col: number) {
  return { template: ctx.opts.name, file: ctx.opts.file, line, column: ctx.indent + col + 1 };
}

function makeFiller(ctx: Ctx, tok: Extract<RawToken, { t: 'filler' }>, line: number): FillerNode {
  const encoders: Encoder[] = [];
  let arg: number | undefined;
  for (const mod of tok.mods) {
    if (/^[0-9]+$/.test(mod)) {
      if (!isParameterisedFiller(tok.name) || arg !== undefined) {
        throw new TemplateError(
          'template.bad-argument',
          `filler {${tok.name}} takes no numeric argument (":${mod}" in ${tok.raw})`,
          where(ctx, line, tok.col),
        );
      }
      arg = Number(mod);
      continue;
    }
    if (!(ENCODERS as readonly string[]).includes(mod)) {
      throw new TemplateError(
        'template.unknown-encoder',
        `unknown encoder ":${mod}" in ${tok.raw}; encoders are ${ENCODERS.join(', ')}`,
        where(ctx, line, tok.col),
      );
    }
    encoders.push(mod as Encoder);
  }
  if (isParameterisedFiller(tok.name) && (arg === undefined || arg < 1 || arg > 64)) {
    throw new TemplateError(
      'template.bad-argument',
      `filler {${tok.name}} needs a digit count from 1 to 64, e.g. {${tok.name}:8}`,
      where(ctx, line, tok.col),
    );
  }
  ctx.fillers.add(tok.name);
  return {
    kind: 'filler',
    name: tok.name,
    encoders: encoders.filter((e) => e !== 'raw'),
    arg,
    conditional: tok.conditional,
    lead: '',
    raw: tok.raw,
    line,
    column: ctx.indent + tok.col + 1,
  };
}

/**
 * Builds nodes from one source line's tokens, appending into the container on top of `stack`
 * (sections may open and close across body lines).
 */
function buildLine(ctx: Ctx, toks: RawToken[], line: number, stack: SectionNode[], root: Node[]): void {
  const top = () => (stack.length ? stack[stack.length - 1].children : root);
  for (const tok of toks) {
    const col = ctx.indent + tok.col + 1;
    switch (tok.t) {
      case 'text': {
        const c = top();
        const last = c[c.length - 1];
        if (last && last.kind === 'text') last.text += tok.text;
        else c.push({ kind: 'text', text: tok.text, line, column: col });
        break;
      }
      case 'eol':
        top().push({ kind: 'eol', eol: tok.eol, line, column: col });
        break;
      case 'filler':
        top().push(makeFiller(ctx, tok, line));
        break;
      case 'section': {
        if (tok.mark === '/') {
          const open = stack.pop();
          if (!open || open.name !== tok.name) {
            throw new TemplateError(
              'template.unmatched-section-end',
              open
                ? `${tok.raw} closes nothing: the open section is {${open.inverted ? '^' : '#'}${open.name}} (line ${open.line})`
                : `${tok.raw} closes nothing: no section is open`,
              where(ctx, line, tok.col),
            );
          }
        } else {
          ctx.fillers.add(tok.name);
          const sec: SectionNode = { kind: 'section', name: tok.name, inverted: tok.mark === '^', children: [], line, column: col };
          top().push(sec);
          stack.push(sec);
        }
        break;
      }
    }
  }
}

/**
 * Moves, for each conditional filler, the literal text since the previous filler/section/EOL token on the same
 * source line into the filler's `lead`, so render can drop both together (TEMPLATES.md "Conditional fillers").
 */
function assignLeads(nodes: Node[]): void {
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i];
    if (n.kind === 'section') assignLeads(n.children);
    if (n.kind !== 'filler' || !n.conditional || i === 0) continue;
    const prev = nodes[i - 1];
    if (prev.kind !== 'text') continue;
    const nl = prev.text.lastIndexOf('\n');
    n.lead = prev.text.slice(nl + 1);
    prev.text = prev.text.slice(0, nl + 1);
    if (prev.text === '') {
      nodes.splice(i - 1, 1);
      i--;
    }
  }
}

function checkNoContentLength(ctx: Ctx, nodes: Node[]): void {
  for (const n of nodes) {
    if (n.kind === 'section') checkNoContentLength(ctx, n.children);
    if ((n.kind === 'filler' || n.kind === 'section') && n.name === 'content-length') {
      throw new TemplateError(
        'template.content-length-in-body',
        '{content-length} cannot appear in the body: it is the length of the body itself',
        { template: ctx.opts.name, file: ctx.opts.file, line: n.line, column: n.column },
      );
    }
  }
}

/** Compiles template source. Throws `TemplateError` (with file, line, column) on malformed input. */
export function compileTemplate(source: string, opts: CompileOptions): CompiledTemplate {
  const ctx: Ctx = { opts, startLine: opts.startLine ?? 1, indent: opts.indent ?? 0, fillers: new Set() };
  const landslide = opts.landslide === true;
  const text = source.replace(/\r\n/g, '\n');
  const lines = text.split('\n');
  // One final newline ends the file, not the body (editors add it); write {LF}/{CRLF} to end a body with one.
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();

  let sep = -1;
  if (!opts.bodyOnly) sep = lines.findIndex((l) => SEPARATOR_RE.test(l));
  const headSrc = opts.bodyOnly ? [] : sep < 0 ? lines : lines.slice(0, sep);
  const bodyStart = opts.bodyOnly ? 0 : sep < 0 ? lines.length : sep + 1;
  const bodySrc = lines.slice(bodyStart);

  const head: HeadLine[] = [];
  headSrc.forEach((raw, idx) => {
    const line = ctx.startLine + idx;
    let src = raw;
    if (landslide) src = src.replace(/[ \t]+$/, ''); // Landslide's page pads lines; the padding is display only.
    if (src.trim() === '') return; // A blank head line would end the header block early: blank lines are ignored.
    const stack: SectionNode[] = [];
    const nodes: Node[] = [];
    buildLine(ctx, tokenizeLine(src, landslide), line, stack, nodes);
    if (stack.length) {
      throw new TemplateError(
        'template.section-spans-lines',
        `section {${stack[0].inverted ? '^' : '#'}${stack[0].name}} must close on the same head line`,
        { template: opts.name, file: opts.file, line, column: stack[0].column },
      );
    }
    const hl: HeadLine = { line, nodes };
    const last = nodes[nodes.length - 1];
    if (last && last.kind === 'eol') {
      nodes.pop();
      hl.eol = last.eol;
    }
    assignLeads(nodes);
    head.push(hl);
  });

  const body: Node[] = [];
  const stack: SectionNode[] = [];
  bodySrc.forEach((raw, idx) => {
    const line = ctx.startLine + bodyStart + idx;
    const toks = tokenizeLine(raw, landslide);
    if (idx < bodySrc.length - 1) toks.push({ t: 'text', text: '\n', col: raw.length });
    buildLine(ctx, toks, line, stack, body);
  });
  if (stack.length) {
    const open = stack[stack.length - 1];
    throw new TemplateError(
      'template.unclosed-section',
      `section {${open.inverted ? '^' : '#'}${open.name}} is never closed with {/${open.name}}`,
      { template: opts.name, file: opts.file, line: open.line, column: open.column },
    );
  }
  checkNoContentLength(ctx, body);
  assignLeads(body);

  const compiled: CompiledTemplate = {
    name: opts.name,
    file: opts.file,
    head,
    body,
    bodyLine: ctx.startLine + bodyStart,
    fillers: [...ctx.fillers].sort(),
    source: '',
  };
  compiled.source = landslide ? printTemplate(compiled) : text;
  return compiled;
}

function printText(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += startsToken(s, i) ? LBRACE : s[i];
  return out;
}

function printNodes(nodes: Node[]): string {
  let out = '';
  for (const n of nodes) {
    switch (n.kind) {
      case 'text':
        out += printText(n.text);
        break;
      case 'eol':
        out += `{${n.eol}}`;
        break;
      case 'filler': {
        const mods = [...(n.arg !== undefined ? [String(n.arg)] : []), ...n.encoders];
        out += printText(n.lead) + `{${n.name}${mods.map((m) => ':' + m).join('')}${n.conditional ? '?' : ''}}`;
        break;
      }
      case 'section':
        out += `{${n.inverted ? '^' : '#'}${n.name}}${printNodes(n.children)}{/${n.name}}`;
        break;
    }
  }
  return out;
}

/** Prints a compiled template as native source (used to save Landslide imports in Portico's own spelling). */
export function printTemplate(t: CompiledTemplate): string {
  const head = t.head.map((l) => printNodes(l.nodes) + (l.eol ? `{${l.eol}}` : '') + '\n').join('');
  if (t.body.length === 0) return head;
  return `${head}${BODY_SEPARATOR}\n${printNodes(t.body)}\n`;
}

export { COMPUTED_FILLERS };
