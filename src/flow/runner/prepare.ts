import { readFileSync } from 'node:fs';
import { compileProgram, FlowLoadError, type Flow, type FlowIssue, type LeafStep, type Program, type SourcePos } from '../model/index.ts';
import { compileTemplate, TemplateError, type CompiledTemplate } from '../template/index.ts';
import { parseCsv } from './csv.ts';
import { defaultMessageResolver, responseIdFor, type MessageResolver, type ResolvedMessage } from './messages.ts';

/**
 * A flow with every template compiled, every message resolved and its data loaded: what a run or a
 * network host works from. Building it is the last point where configuration can fail; after it,
 * only the wire can.
 */
export interface PreparedFlow {
  flow: Flow;
  program: Program;
  /** Request templates of send steps and frame templates of ws-send steps. */
  requests: Map<LeafStep, CompiledTemplate>;
  /** Response templates the network host renders for send steps (when one is known). */
  responses: Map<LeafStep, CompiledTemplate>;
  /** Frame templates used by `serve` blocks, keyed by their source. */
  frames: Map<string, CompiledTemplate>;
  /** Per-client data rows (CSV), possibly empty. */
  dataRows: Record<string, string>[];
}

export interface PrepareOptions {
  resolveMessage?: MessageResolver;
  /** A data file that replaces the flow's own. */
  dataFile?: string;
  /** Whether to compile responses too (the network host needs them, a client run does not). */
  forServe?: boolean;
}

export function prepareFlow(flow: Flow, opts: PrepareOptions = {}): PreparedFlow {
  const resolve = opts.resolveMessage ?? defaultMessageResolver;
  const issues: FlowIssue[] = [];
  const requests = new Map<LeafStep, CompiledTemplate>();
  const responses = new Map<LeafStep, CompiledTemplate>();
  const frames = new Map<string, CompiledTemplate>();
  const program = compileProgram(flow);

  const compile = (source: string, name: string, pos: SourcePos | undefined, bodyOnly: boolean, file?: string): CompiledTemplate | undefined => {
    try {
      return compileTemplate(source, { name, file: file ?? pos?.file, startLine: pos?.line, indent: pos ? pos.column - 1 : undefined, bodyOnly });
    } catch (err) {
      if (err instanceof TemplateError) {
        issues.push({ code: 'FLOW_ERR_TEMPLATE', message: err.message, file: err.file ?? pos?.file ?? flow.file, line: err.line ?? pos?.line ?? 1, column: err.column ?? pos?.column ?? 1 });
        return undefined;
      }
      throw err;
    }
  };

  const message = (id: string, step: LeafStep, quiet = false): CompiledTemplate | undefined => {
    const own = flow.templates[id];
    if (own) return compile(own.source, id, own.pos, false);
    let found: ResolvedMessage;
    try {
      found = resolve(id, flow.options, flow.file);
    } catch (err) {
      if (quiet) return undefined;
      const e = err as { code?: string; message: string; file?: string; line?: number; column?: number };
      if (err instanceof TemplateError) issues.push({ code: 'FLOW_ERR_TEMPLATE', message: e.message, file: e.file ?? flow.file, line: e.line ?? step.pos.line, column: e.column ?? 1 });
      else issues.push({ code: 'FLOW_ERR_REFERENCE', message: `message "${id}": ${e.message}`, ...step.pos });
      return undefined;
    }
    const inline = found.origin === 'custom';
    return compile(found.source, id, inline ? step.pos : undefined, false, inline ? flow.file : found.file);
  };

  const frame = (f: { template?: string }, step: LeafStep): void => {
    if (f.template !== undefined && !frames.has(f.template)) {
      const t = compile(f.template, `${step.label} frame`, step.pos, true);
      if (t) frames.set(f.template, t);
    }
  };

  for (const step of program.leaves) {
    if (step.kind === 'send') {
      let t: CompiledTemplate | undefined;
      if (step.message !== undefined) t = message(step.message, step);
      else if (step.template !== undefined) t = compile(step.template, step.label, step.templatePos ?? step.pos, false);
      if (t) requests.set(step, t);
      if (opts.forServe) {
        const s = step.serve;
        let r: CompiledTemplate | undefined;
        if (s?.template !== undefined) r = compile(s.template, `${step.label} response`, step.pos, false);
        else {
          const explicit = s?.response ?? step.response;
          const rid = explicit ?? (step.message !== undefined ? responseIdFor(step.message) : undefined);
          // A paired response that does not exist is fine (the host answers 200); a named one must.
          if (rid !== undefined) r = message(rid, step, explicit === undefined);
        }
        if (r) responses.set(step, r);
      }
    } else if (step.kind === 'ws-send' && step.template !== undefined) {
      const t = compile(step.template, step.label, step.templatePos ?? step.pos, true);
      if (t) requests.set(step, t);
    }
    if (opts.forServe && 'serve' in step && step.serve) {
      for (const f of [...(step.serve.notify ?? []), ...(step.serve['on-open'] ?? []), ...(step.serve.reply ?? [])]) frame(f, step);
    }
  }

  let dataRows: Record<string, string>[] = [];
  const dataFile = opts.dataFile ?? flow.data;
  if (dataFile !== undefined) {
    try {
      dataRows = parseCsv(readFileSync(dataFile, 'utf8'));
    } catch (err) {
      issues.push({ code: 'FLOW_ERR_DATA', message: `data file ${dataFile}: ${(err as Error).message}`, file: dataFile, line: (err as { line?: number }).line ?? 1, column: 1 });
    }
  }
  if (issues.length) throw new FlowLoadError(issues);
  return { flow, program, requests, responses, frames, dataRows };
}
