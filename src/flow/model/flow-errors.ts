/**
 * Errors of the flow tester's model layer. Each carries a stable `code` and, when it comes from a
 * file, the 1-based line and column of the offending node so editors can jump to it.
 */
export type FlowErrorCode =
  | 'FLOW_ERR_NOT_FOUND'
  | 'FLOW_ERR_YAML'
  | 'FLOW_ERR_SCHEMA'
  | 'FLOW_ERR_REFERENCE'
  | 'FLOW_ERR_TEMPLATE'
  | 'FLOW_ERR_DATA'
  | 'FLOW_ERR_CONFIG';

export interface FlowIssue {
  code: FlowErrorCode;
  message: string;
  file: string;
  line: number;
  column: number;
}

export class FlowLoadError extends Error {
  readonly code: FlowErrorCode;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly issues: FlowIssue[];

  constructor(issues: FlowIssue[]) {
    const first = issues[0]!;
    const more = issues.length > 1 ? `\n${issues.slice(1).map(formatIssue).join('\n')}` : '';
    super(`${formatIssue(first)}${more}`);
    this.name = 'FlowLoadError';
    this.code = first.code;
    this.file = first.file;
    this.line = first.line;
    this.column = first.column;
    this.issues = issues;
  }
}

export function formatIssue(i: FlowIssue): string {
  return `${i.file}:${i.line}:${i.column}: ${i.message} [${i.code}]`;
}

/** A bad run configuration (command-line options, target URL): nothing has been sent yet. */
export class FlowConfigError extends Error {
  readonly code = 'FLOW_ERR_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'FlowConfigError';
  }
}
