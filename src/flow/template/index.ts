/** The flow template language: compile, render, lint, scopes, and an HTTP head parser. See ../TEMPLATES.md. */
export { compileTemplate, printTemplate, startsToken, BODY_SEPARATOR } from './compile.ts';
export { lintTemplate, type LintOptions } from './lint.ts';
export { renderTemplate, type RenderOptions, type RenderResult } from './render.ts';
export { createScopes, Scopes, SeqCounter, type FillerContext, type FillerValue, type ScopeLayer } from './scopes.ts';
export {
  parseHttpHead,
  headerValue,
  headerValues,
  type HttpHeader,
  type ParsedHttpHead,
  type ParsedRequestHead,
  type ParsedResponseHead,
} from './http-head.ts';
export {
  COMPUTED_FILLERS,
  isComputedFiller,
  cryptoRandomSource,
  createSeededSource,
  websocketAccept,
  websocketKey,
  uuidV4,
  WEBSOCKET_GUID,
  type RandomSource,
} from './computed.ts';
export { encodeJsonString, encodeUrlComponent, applyEncoder } from './encoders.ts';
export {
  TemplateError,
  TEMPLATE_ERROR_CODES,
  LINT_CODES,
  type TemplateErrorCode,
  type LintCode,
  type Diagnostic,
  type DiagnosticSeverity,
} from './errors.ts';
export type {
  CompiledTemplate,
  CompileOptions,
  Encoder,
  EolKind,
  DefaultEol,
  HeadLine,
  Node as TemplateNode,
} from './template-types.ts';
