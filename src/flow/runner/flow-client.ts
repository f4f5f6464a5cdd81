import { performance } from 'node:perf_hooks';
import type { AwaitStep, LeafStep, MatchSpec, PauseStep, SendStep, SetStep, WsCloseStep, WsOpenStep, WsSendStep } from '../model/index.ts';
import type { FailureReason, FlowEvent, LadderEntry, StepEvent } from '../report/index.ts';
import { createScopes, renderTemplate, TemplateError, type CompiledTemplate, type FillerValue, type Scopes } from '../template/index.ts';
import { checkExpect, checkMatch, extractValues, Subject, type Extracted } from './extract.ts';
import { HttpClientError, originOf, type HttpPool, type HttpResponse, type Origin } from './http-client.ts';
import { interpolate, interpolateJson, InterpolationError } from './interpolate.ts';
import type { PreparedFlow } from './prepare.ts';
import { WsChannel, WsChannelError } from './ws-channel.ts';

/** What the runner reports to: `RunRecorder` from src/flow/report fits. */
export interface RecorderLike {
  clientStarted(clientId: number): void;
  clientEnded(clientId: number): void;
  stepFinished(e: StepEvent): void;
  flowFinished(e: FlowEvent): void;
  transcript(clientId: number, entry: LadderEntry): void;
  wantsTranscript?(clientId: number): boolean;
}

/** Shared by every client of one run. */
export interface ClientEnvironment {
  prepared: PreparedFlow;
  pool: HttpPool;
  /** Where requests go unless a step names its own target. */
  origin: Origin;
  /** `host:port` for a Host header the template left out. */
  hostHeader: string;
  /** `ws://host:port` for WebSocket URLs given as a bare path. */
  wsBase: string;
  runVars: Record<string, string>;
  recorder: RecorderLike;
  defaultTimeoutMs: number;
}

type Outcome = { outcome: 'success' } | { outcome: FailureReason | 'aborted'; detail: string };

const OK: Outcome = { outcome: 'success' };

export interface ClientResult {
  /** False when the run stopped the client before its flow ended. */
  completed: boolean;
  ok: boolean;
  reason?: FailureReason;
}

/** One emulated client running the flow's program once. */
export class EmulatedClient {
  readonly callVars = new Map<string, FillerValue>();
  readonly chatVars = new Map<string, FillerValue>();
  readonly clientVars = new Map<string, FillerValue>();
  readonly scopes: Scopes;
  private readonly sockets = new Map<string, WsChannel>();
  private pauseTimer: NodeJS.Timeout | undefined;
  private pauseDone: (() => void) | undefined;
  private aborted = false;
  private readonly peer: string;
  private readonly flowName: string;

  constructor(private readonly env: ClientEnvironment, readonly id: number, fixed: Record<string, string>) {
    this.scopes = createScopes(this.callVars, this.chatVars, this.clientVars, fixed, env.runVars);
    this.peer = `client ${id}`;
    this.flowName = env.prepared.flow.name;
  }

  /** Stops the client at the end of the run: pending awaits and pauses end at once. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pauseDone?.();
    for (const ch of this.sockets.values()) ch.abort();
  }

  async run(): Promise<ClientResult> {
    const { instrs, loopSlots } = this.env.prepared.program;
    const loops = new Array<number>(loopSlots).fill(0);
    const t0 = performance.now();
    let pc = 0;
    let failure: FailureReason | undefined;
    let budget = 0;
    try {
      while (!this.aborted) {
        const ins = instrs[pc]!;
        // Never let a loop of jumps and `set` steps starve the event loop.
        if (++budget % 256 === 0) await new Promise((r) => setImmediate(r));
        if (ins.op === 'end') break;
        if (ins.op === 'jump') { pc = ins.to; continue; }
        if (ins.op === 'loop-init') { loops[ins.slot] = ins.times === 'forever' ? Infinity : ins.times; pc++; continue; }
        if (ins.op === 'loop-next') { pc = --loops[ins.slot]! > 0 ? ins.to : pc + 1; continue; }
        if (ins.op === 'scope-reset') { (ins.scope === 'call' ? this.callVars : this.chatVars).clear(); pc++; continue; }
        const res = await this.execute(ins.step);
        if (res.outcome === 'aborted' || this.aborted) break;
        if (res.outcome === 'success') { pc++; continue; }
        failure ??= res.outcome;
        if (ins.onFail.kind === 'end') break;
        pc = ins.onFail.kind === 'continue' ? pc + 1 : ins.onFail.to;
      }
    } finally {
      for (const ch of this.sockets.values()) ch.close(1000, this.aborted);
      this.sockets.clear();
    }
    if (this.aborted) return { completed: false, ok: false, reason: failure };
    this.env.recorder.flowFinished({ flow: this.flowName, clientId: this.id, durationMs: performance.now() - t0, ok: failure === undefined, reason: failure });
    return { completed: true, ok: failure === undefined, reason: failure };
  }

  private async execute(step: LeafStep): Promise<Outcome> {
    if (step.kind === 'set') return this.set(step);
    if (step.kind === 'pause') return this.pause(step);
    const startedAt = performance.now();
    let res: Outcome;
    try {
      switch (step.kind) {
        case 'send': res = await this.send(step); break;
        case 'ws-open': res = await this.wsOpen(step); break;
        case 'ws-send': res = this.wsSend(step); break;
        case 'await': res = await this.await(step); break;
        case 'ws-close': res = this.wsClose(step); break;
      }
    } catch (err) {
      res = this.classify(err);
    }
    if (res.outcome === 'aborted' || this.aborted) return { outcome: 'aborted', detail: 'run ended' };
    const e: StepEvent = { flow: this.flowName, step: step.label, clientId: this.id, startedAt, durationMs: performance.now() - startedAt, outcome: res.outcome };
    if (res.outcome !== 'success') {
      e.detail = res.detail;
      this.note({ at: performance.now(), from: 'server', to: this.peer, label: `${step.label}: ${res.outcome}`, detail: res.detail, failed: true });
    }
    this.env.recorder.stepFinished(e);
    return res;
  }

  private classify(err: unknown): Outcome {
    if (err instanceof TemplateError || err instanceof InterpolationError) return { outcome: 'template-error', detail: err.message };
    if (err instanceof HttpClientError) {
      if (err.code === 'FLOW_ERR_HTTP_ABORTED') return { outcome: 'aborted', detail: err.message };
      return { outcome: err.code === 'FLOW_ERR_HTTP_TIMEOUT' ? 'timeout' : 'transport-error', detail: err.message };
    }
    if (err instanceof WsChannelError) {
      switch (err.code) {
        case 'FLOW_ERR_WS_ABORTED': return { outcome: 'aborted', detail: err.message };
        case 'FLOW_ERR_WS_TIMEOUT': return { outcome: 'timeout', detail: err.message };
        case 'FLOW_ERR_WS_UNEXPECTED': return { outcome: 'unexpected-message', detail: err.message };
        default: return { outcome: 'transport-error', detail: err.message };
      }
    }
    return { outcome: 'transport-error', detail: (err as Error)?.message ?? String(err) };
  }

  private wantsNotes(): boolean {
    return this.env.recorder.wantsTranscript?.(this.id) ?? true;
  }

  private note(entry: LadderEntry): void {
    if (this.wantsNotes()) this.env.recorder.transcript(this.id, entry);
  }

  private timeout(step: LeafStep): number {
    return step.timeoutMs ?? this.env.defaultTimeoutMs;
  }

  private stepScopes(step: LeafStep): Scopes {
    if (!step.vars) return this.scopes;
    const layer: Record<string, string> = {};
    for (const [k, v] of Object.entries(step.vars)) layer[k] = interpolate(v, this.scopes, `${step.label} vars`);
    return this.scopes.child(layer);
  }

  private store(values: Extracted[]): void {
    for (const v of values) {
      const map = v.scope === 'call' ? this.callVars : v.scope === 'chat' ? this.chatVars : this.clientVars;
      map.set(v.name, v.value);
    }
  }

  private async send(step: SendStep): Promise<Outcome> {
    const scopes = this.stepScopes(step);
    const lenient = this.env.prepared.flow.options.lenient;
    let bytes: Buffer;
    if (step.bytes !== undefined) {
      bytes = Buffer.from(interpolate(step.bytes, scopes, step.label), 'latin1');
    } else {
      const t = this.env.prepared.requests.get(step)!;
      const r = renderTemplate(t, scopes, { lenient });
      bytes = step.verbatim || framedByTemplate(t) ? r.bytes : this.completeRequest(r.head, r.body, r.bytes);
    }
    const sp = bytes.indexOf(0x20);
    const method = sp > 0 && sp < 16 ? bytes.toString('latin1', 0, sp) : 'GET';
    const origin = step.target !== undefined ? originOf(toUrl(interpolate(step.target, scopes, `${step.label} target`), 'http')) : this.env.origin;
    const wants = this.wantsNotes();
    if (wants) this.note({ at: performance.now(), from: this.peer, to: 'server', label: firstLine(bytes) });
    const res: HttpResponse = await this.env.pool.request(origin, bytes, { method, timeoutMs: this.timeout(step) });
    if (wants) this.note({ at: performance.now(), from: 'server', to: this.peer, label: `${res.status} ${res.reason}`.trim() });
    const subj = new Subject(res.body, res.status, res.headers);
    const bad = checkExpect(step.expect, subj, scopes);
    if (bad) return { outcome: bad.reason, detail: bad.detail };
    return this.extract(step.extract, subj);
  }

  private extract(rules: SendStep['extract'], subj: Subject): Outcome {
    if (!rules) return OK;
    const { values, failures } = extractValues(rules, subj);
    this.store(values);
    return failures.length ? { outcome: 'extract-miss', detail: failures.join('; ') } : OK;
  }

  /**
   * Adds what an HTTP/1.1 request cannot go without when the template left it out: Host
   * (RFC 9112 §3.2) and a Content-Length for a body (RFC 9112 §6.2). `verbatim` steps skip this.
   */
  private completeRequest(head: Buffer, body: Buffer, bytes: Buffer): Buffer {
    const text = head.toString('latin1');
    const needHost = !/(^|\n)host:/i.test(text);
    const needLength = !/(^|\n)(content-length|transfer-encoding):/i.test(text) && (body.length > 0 || /^(POST|PUT|PATCH) /.test(text));
    if (!needHost && !needLength) return bytes;
    let extra = '';
    if (needHost) extra += `Host: ${this.env.hostHeader}\r\n`;
    if (needLength) extra += `Content-Length: ${body.length}\r\n`;
    const sep = text.endsWith('\n') ? '' : '\r\n';
    return Buffer.concat([Buffer.from(`${text}${sep}${extra}\r\n`, 'latin1'), body]);
  }

  private async wsOpen(step: WsOpenStep): Promise<Outcome> {
    const scopes = this.stepScopes(step);
    const raw = interpolate(step.url, scopes, `${step.label} url`);
    const url = raw.startsWith('/') ? `${this.env.wsBase}${raw}` : toUrl(raw, 'ws').toString();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(step.headers ?? {})) headers[k] = interpolate(v, scopes, `${step.label} header ${k}`);
    this.sockets.get(step.name)?.close(1000);
    this.note({ at: performance.now(), from: this.peer, to: 'server', label: `GET ${new URL(url).pathname} (Upgrade: websocket)` });
    const ch = await WsChannel.open(url, { subprotocols: step.subprotocols, headers, timeoutMs: this.timeout(step), answerConnCheck: step.answerConnCheck });
    if (this.aborted) {
      ch.close(1000, true);
      return { outcome: 'aborted', detail: 'run ended' };
    }
    this.sockets.set(step.name, ch);
    this.note({ at: performance.now(), from: 'server', to: this.peer, label: `101 Switching Protocols${ch.protocol ? ` (${ch.protocol})` : ''}` });
    if (step.subprotocols.length && !ch.protocol) return { outcome: 'header-mismatch', detail: 'the server chose no subprotocol' };
    return OK;
  }

  private channel(name: string): WsChannel {
    const ch = this.sockets.get(name);
    if (!ch) throw new WsChannelError('FLOW_ERR_WS_CLOSED', `no WebSocket named "${name}" is open`);
    return ch;
  }

  private wsSend(step: WsSendStep): Outcome {
    const scopes = this.stepScopes(step);
    let text: string;
    if (step.text !== undefined) text = interpolate(step.text, scopes, step.label);
    else if (step.json !== undefined) text = JSON.stringify(interpolateJson(step.json, scopes, step.label));
    else text = renderTemplate(this.env.prepared.requests.get(step)!, scopes, { lenient: this.env.prepared.flow.options.lenient }).body.toString('utf8');
    this.channel(step.name).send(text);
    this.note({ at: performance.now(), from: this.peer, to: 'server', label: `WS ${frameLabel(text)}` });
    return OK;
  }

  private async await(step: AwaitStep): Promise<Outcome> {
    const scopes = this.stepScopes(step);
    const ch = this.channel(step.name);
    // Match values are interpolated once, before any frame is looked at.
    const matches: MatchSpec[] = step.match.map((m) => ({
      ...m,
      equals: typeof m.equals === 'string' ? interpolate(m.equals, scopes, step.label) : m.equals,
      'not-equals': typeof m['not-equals'] === 'string' ? interpolate(m['not-equals'], scopes, step.label) : m['not-equals'],
      contains: m.contains !== undefined ? interpolate(m.contains, scopes, step.label) : undefined,
    }));
    const subj = await ch.await((s) => matches.every((m) => checkMatch(m, s, undefined) === undefined), this.timeout(step), step.unexpected);
    this.note({ at: performance.now(), from: 'server', to: this.peer, label: `WS ${frameLabel(subj.bodyText)}` });
    return this.extract(step.extract, subj);
  }

  private wsClose(step: WsCloseStep): Outcome {
    const ch = this.sockets.get(step.name);
    if (ch) {
      ch.close(step.code ?? 1000);
      this.sockets.delete(step.name);
    }
    return OK;
  }

  private set(step: SetStep): Outcome {
    try {
      const map = step.scope === 'call' ? this.callVars : step.scope === 'chat' ? this.chatVars : this.clientVars;
      for (const [k, v] of Object.entries(step.values)) map.set(k, interpolate(v, this.scopes, `${step.label} ${k}`));
      return OK;
    } catch (err) {
      const res = this.classify(err);
      if (res.outcome !== 'success' && res.outcome !== 'aborted') {
        this.env.recorder.stepFinished({ flow: this.flowName, step: step.label, clientId: this.id, startedAt: performance.now(), durationMs: 0, outcome: res.outcome, detail: res.detail });
      }
      return res;
    }
  }

  private pause(step: PauseStep): Promise<Outcome> {
    const ms = step.minMs + Math.random() * (step.maxMs - step.minMs);
    return new Promise((resolve) => {
      this.pauseDone = () => {
        this.pauseTimer = undefined;
        this.pauseDone = undefined;
        resolve(this.aborted ? { outcome: 'aborted', detail: 'run ended' } : OK);
      };
      this.pauseTimer = setTimeout(this.pauseDone, ms);
    });
  }
}

const framed = new WeakMap<CompiledTemplate, boolean>();

/**
 * True when every render of the template has a `Host` header and a `Content-Length` or
 * `Transfer-Encoding` header, so `completeRequest` would add nothing: a head line other than the
 * first begins with that literal text (such a line is never dropped), and every head line ends in
 * LF or CRLF (so whichever line comes before it ends in a line feed).
 */
function framedByTemplate(t: CompiledTemplate): boolean {
  let yes = framed.get(t);
  if (yes === undefined) {
    const starts = (re: RegExp): boolean => t.head.some((l, i) => i > 0 && l.nodes[0]?.kind === 'text' && re.test(l.nodes[0].text));
    const lineFeeds = t.head.every((l) => l.eol === undefined || l.eol === 'LF' || l.eol === 'CRLF');
    yes = lineFeeds && starts(/^host:/i) && starts(/^(content-length|transfer-encoding):/i);
    framed.set(t, yes);
  }
  return yes;
}

/** Accepts `host:port/path`, `http://…`, `ws://…`; http(s) becomes ws(s) for WebSockets and back. */
export function toUrl(text: string, kind: 'http' | 'ws'): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `${kind}://${text}`;
  const u = new URL(withScheme);
  if (kind === 'ws' && (u.protocol === 'http:' || u.protocol === 'https:')) u.protocol = u.protocol === 'http:' ? 'ws:' : 'wss:';
  if (kind === 'http' && (u.protocol === 'ws:' || u.protocol === 'wss:')) u.protocol = u.protocol === 'ws:' ? 'http:' : 'https:';
  return u;
}

function firstLine(bytes: Buffer): string {
  const end = bytes.indexOf(0x0d);
  const line = bytes.toString('latin1', 0, end > 0 && end < 200 ? end : Math.min(bytes.length, 200));
  return line.replace(/ HTTP\/1\.[01]$/, '');
}

function frameLabel(text: string): string {
  const m = /^\s*\{\s*"([^"]{1,60})"\s*:\s*(?:"([^"]{0,40})")?/.exec(text);
  if (m) return m[2] !== undefined ? `${m[1]}: ${m[2]}` : m[1]!;
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
