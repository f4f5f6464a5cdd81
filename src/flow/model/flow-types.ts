import type { ExpectSpec, FrameSpec, MatchSpec, ServeSpec as ServeSpecRaw } from './flow-schema.ts';

export type { ExpectSpec, FrameSpec, MatchSpec };

/** A step's `serve` block with its capture rules normalised. */
export type ServeSpec = Omit<ServeSpecRaw, 'capture'> & { capture?: Record<string, ExtractRule> };

/** A place in a flow file, 1-based like editors show it. */
export interface SourcePos {
  file: string;
  line: number;
  column: number;
}

export type OnFailure = { kind: 'end' } | { kind: 'continue' } | { kind: 'goto'; target: string };
export type ScopeName = 'client' | 'call' | 'chat';

/** A normalised extraction rule (reference §2.4). */
export interface ExtractRule {
  source: 'json' | 'header' | 'regex' | 'cookie' | 'status' | 'body';
  /** JSON pointers tried in order: the main one, then each `else`. */
  pointers: string[];
  header?: string;
  all: boolean;
  query?: string;
  regex?: RegExp;
  group: number;
  cookie?: string;
  optional: boolean;
  default?: string;
  scope: ScopeName;
}

interface StepBase {
  id?: string;
  /** Name used in reports: the id, else the message id, else kind and position. */
  label: string;
  onFailure: OnFailure;
  timeoutMs?: number;
  vars?: Record<string, string>;
  pos: SourcePos;
}

export interface SendStep extends StepBase {
  kind: 'send';
  /** Message id from the flow's `templates`, the user library or the built-in library. */
  message?: string;
  /** Inline template source. */
  template?: string;
  /** Where the inline template's first line sits in the flow file. */
  templatePos?: SourcePos;
  /** Literal bytes sent as they are (negative tests). */
  bytes?: string;
  verbatim: boolean;
  target?: string;
  response?: string;
  expect?: ExpectSpec;
  extract?: Record<string, ExtractRule>;
  serve?: ServeSpec;
}

export interface WsOpenStep extends StepBase {
  kind: 'ws-open';
  url: string;
  name: string;
  subprotocols: string[];
  headers?: Record<string, string>;
  answerConnCheck: boolean;
  serve?: ServeSpec;
}

export interface WsSendStep extends StepBase {
  kind: 'ws-send';
  name: string;
  json?: unknown;
  text?: string;
  template?: string;
  templatePos?: SourcePos;
  serve?: ServeSpec;
}

export interface AwaitStep extends StepBase {
  kind: 'await';
  name: string;
  match: MatchSpec[];
  extract?: Record<string, ExtractRule>;
  unexpected: 'skip' | 'fail';
}

export interface WsCloseStep extends StepBase {
  kind: 'ws-close';
  name: string;
  code?: number;
}

export interface PauseStep extends StepBase {
  kind: 'pause';
  minMs: number;
  maxMs: number;
}

export interface SetStep extends StepBase {
  kind: 'set';
  values: Record<string, string>;
  scope: ScopeName;
}

export interface GotoStep extends StepBase {
  kind: 'goto';
  target: string;
}

export interface LoopStep extends StepBase {
  kind: 'loop';
  times: number | 'forever';
  steps: Step[];
}

export interface BlockStep extends StepBase {
  kind: 'block';
  scope: 'call' | 'chat';
  steps: Step[];
}

export type Step = SendStep | WsOpenStep | WsSendStep | AwaitStep | WsCloseStep | PauseStep | SetStep | GotoStep | LoopStep | BlockStep;

export interface NumberRange {
  start: bigint;
  width: number;
  step: bigint;
  prefix: string;
}

export interface FlowOptions {
  /** Global "Use Default": every message uses its built-in template, ignoring custom ones. */
  useDefault: boolean;
  lenient: boolean;
  timeoutMs: number;
  /**
   * Per-message custom templates (message id → inline source, or `library:NAME` for a template of the
   * user library), used unless "Use Default" is on globally or for that message.
   */
  custom: Record<string, string>;
  /** The per-message "Use Default" tick. */
  messageUseDefault: Record<string, boolean>;
}

/** A validated flow, ready to compile and run. */
export interface Flow {
  name: string;
  description?: string;
  kind: 'client' | 'hooks';
  file: string;
  options: FlowOptions;
  vars: Record<string, string>;
  ranges: Record<string, NumberRange>;
  /** Per-client data file, resolved against the flow file's folder. */
  data?: string;
  templates: Record<string, { source: string; pos: SourcePos }>;
  serve: { sessionKey: string; vars: Record<string, string> };
  steps: Step[];
}
