/**
 * Errors and diagnostics of the flow template language (see src/flow/TEMPLATES.md, "Errors").
 *
 * One class, `TemplateError`, with a stable `code`. Compile errors carry the file, line and column of the
 * offending text; render errors carry the filler, the template (message) name and the line.
 */

/** Every stable code a `TemplateError` or a lint `Diagnostic` may carry. Documented in TEMPLATES.md. */
export const TEMPLATE_ERROR_CODES = [
  'template.unknown-encoder',
  'template.bad-argument',
  'template.unclosed-section',
  'template.unmatched-section-end',
  'template.section-spans-lines',
  'template.content-length-in-body',
  'template.missing-filler',
  'template.bad-http-head',
] as const;

export type TemplateErrorCode = (typeof TEMPLATE_ERROR_CODES)[number];

export interface TemplateErrorInit {
  /** Template (message) name, e.g. `WEBRTC_HTTP_REQ_REG`. */
  template?: string;
  file?: string;
  /** 1-based source line. */
  line?: number;
  /** 1-based source column. */
  column?: number;
  /** The filler concerned, for render errors. */
  filler?: string;
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  readonly code: TemplateErrorCode;
  readonly template?: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly filler?: string;

  constructor(code: TemplateErrorCode, detail: string, init: TemplateErrorInit = {}) {
    super(`${formatWhere(init)}${detail}`);
    this.code = code;
    this.template = init.template;
    this.file = init.file;
    this.line = init.line;
    this.column = init.column;
    this.filler = init.filler;
  }
}

/** `file:line:column: ` (or `template line N: `) prefix, so messages read like compiler output. */
export function formatWhere(init: TemplateErrorInit): string {
  const where = init.file ?? init.template;
  if (where === undefined && init.line === undefined) return '';
  let s = where ?? '<template>';
  if (init.line !== undefined) s += `:${init.line}`;
  if (init.column !== undefined) s += `:${init.column}`;
  if (init.file !== undefined && init.template !== undefined) s += ` (${init.template})`;
  return `${s}: `;
}

export type DiagnosticSeverity = 'error' | 'warning' | 'info';

/** Lint codes (`lint.*`) and render warnings; see TEMPLATES.md "Linter". */
export const LINT_CODES = [
  'lint.unknown-filler',
  'lint.near-miss-filler',
  'lint.broken-json',
  'lint.glued-header',
  'lint.duplicate-header',
  'lint.missing-json-encoder',
  'lint.missing-url-encoder',
  'lint.bad-header-line',
  'lint.trailing-whitespace',
  'lint.conditional-trailing-text',
  'lint.misplaced-content-length',
  'lint.missing-content-length',
  'lint.body-without-content-type',
  'lint.request-header-in-response',
  'render.lenient-missing-filler',
] as const;

export type LintCode = (typeof LINT_CODES)[number];

export interface Diagnostic {
  severity: DiagnosticSeverity;
  code: LintCode | TemplateErrorCode;
  message: string;
  template?: string;
  file?: string;
  line?: number;
  column?: number;
  filler?: string;
}

export function diagnosticFromError(err: TemplateError): Diagnostic {
  return {
    severity: 'error',
    code: err.code,
    message: err.message,
    template: err.template,
    file: err.file,
    line: err.line,
    column: err.column,
    filler: err.filler,
  };
}
