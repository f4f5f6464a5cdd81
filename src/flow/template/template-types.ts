/** Types of the compiled form of a flow template (the AST). Grammar: src/flow/TEMPLATES.md. */

export type Encoder = 'raw' | 'json' | 'url' | 'b64';
export const ENCODERS: readonly Encoder[] = ['raw', 'json', 'url', 'b64'];

/** Explicit line-end tokens. `NOEOL` ends a head line with nothing, gluing it to the next one. */
export type EolKind = 'CR' | 'LF' | 'CRLF' | 'NOEOL';
export type DefaultEol = 'CRLF' | 'LF' | 'CR';

export const EOL_BYTES: Readonly<Record<EolKind, string>> = { CR: '\r', LF: '\n', CRLF: '\r\n', NOEOL: '' };

interface Positioned {
  /** 1-based line in the source file. */
  line: number;
  /** 1-based column in the source file. */
  column: number;
}

export interface TextNode extends Positioned {
  kind: 'text';
  text: string;
}

export interface FillerNode extends Positioned {
  kind: 'filler';
  /** Canonical name, e.g. `session-id`, `oauth-cookie.1`, `rand-digits`. */
  name: string;
  /** Encoders applied left to right (`{x:url:json}` = url, then json). Empty means raw. */
  encoders: Encoder[];
  /** Numeric argument, only for parameterised computed fillers (`{rand-digits:8}`). */
  arg?: number;
  /** `{name?}` (or Landslide `{name-if}`): drop the filler and its lead text when the value is absent. */
  conditional: boolean;
  /**
   * For a conditional filler: the literal text that is dropped together with it (the text since the previous
   * filler, section marker or EOL token on the same source line). Not rendered separately.
   */
  lead: string;
  /** The exact source spelling, for diagnostics. */
  raw: string;
}

export interface EolNode extends Positioned {
  kind: 'eol';
  eol: EolKind;
}

export interface SectionNode extends Positioned {
  kind: 'section';
  /** The filler whose presence decides the section. */
  name: string;
  /** `{^name}` … `{/name}`: rendered only when `name` is absent. */
  inverted: boolean;
  children: Node[];
}

export type Node = TextNode | FillerNode | EolNode | SectionNode;

export interface HeadLine {
  /** 1-based source line. */
  line: number;
  nodes: Node[];
  /** The explicit line end written at the end of the source line; `undefined` means the default EOL. */
  eol?: EolKind;
}

export interface CompiledTemplate {
  name: string;
  file?: string;
  /** Start line and status/request line first; empty for body-only templates (WebSocket frames). */
  head: HeadLine[];
  body: Node[];
  /** Source line of the first body line (for diagnostics). */
  bodyLine: number;
  /** Every filler name used (sections included), sorted, computed ones included. */
  fillers: string[];
  /** The native source (Landslide imports are normalised), so a template can be saved and reloaded. */
  source: string;
}

export interface CompileOptions {
  /** Template (message) name used in errors: `WEBRTC_HTTP_REQ_REG` or a file stem. */
  name: string;
  /** File the source came from, for `file:line:column` errors. */
  file?: string;
  /** Accept Landslide spellings: `{name-if}`, `{CR} {LF}`, capitals in filler names, no escape tokens. */
  landslide?: boolean;
  /** The source is a body only (no head, no `---body---` separator): WebSocket frames, YAML `body:` fields. */
  bodyOnly?: boolean;
  /** Line number of the source's first line in `file` (templates embedded in a YAML flow). Default 1. */
  startLine?: number;
  /** Columns to add to every reported column (indentation of an embedded block). Default 0. */
  indent?: number;
}
