import { performance } from 'node:perf_hooks';
import { FlowConfigError, type Flow } from '../model/index.ts';
import { formatProgressLine, RunRecorder, writeHtmlReport, writeJsonSummary, type RunSummary } from '../report/index.ts';
import { EmulatedClient, toUrl, type ClientEnvironment, type RecorderLike } from './flow-client.ts';
import { HttpPool, originOf } from './http-client.ts';
import { prepareFlow, type PreparedFlow } from './prepare.ts';
import type { MessageResolver } from './messages.ts';

/**
 * Client emulation at a rate: starts `clients` emulated clients at `rate` per second (ramping up
 * linearly over `rampUpMs`), never more than `concurrency` at once, and stops everything at
 * `durationMs` whatever the server does. Every await has a timeout and the duration is a hard stop,
 * so a run always ends on time with a complete report.
 */
export interface RunOptions {
  /** A loaded flow, or one already prepared. */
  flow: Flow | PreparedFlow;
  /** Base URL of the system under test, e.g. http://127.0.0.1:8080. */
  target: string;
  /** Clients to start in total. Default 1. */
  clients?: number;
  /** Client starts per second. Default 10. */
  rate?: number;
  /** Time over which the start rate grows linearly from 0 to `rate`. Default 0. */
  rampUpMs?: number;
  /** Hard stop, from the first start. Default: none (the run ends when every client has finished). */
  durationMs?: number;
  /** Most clients active at once. Default unlimited. */
  concurrency?: number;
  /** Each client runs its flow again and again until the duration ends. */
  repeat?: boolean;
  /** Per-client CSV data replacing the flow's own `data`. */
  dataFile?: string;
  /** Run-scope fillers set on the command line; they win over the flow's `vars`. */
  vars?: Record<string, string>;
  /** Default per-step timeout, replacing the flow's `options.timeout`. */
  timeoutMs?: number;
  recorder?: RunRecorder;
  intervalMs?: number;
  /** Progress lines go here once per interval (usually process.stderr). */
  progress?: NodeJS.WritableStream;
  csvPath?: string;
  jsonPath?: string;
  htmlPath?: string;
  resolveMessage?: MessageResolver;
  signal?: AbortSignal;
}

export interface RunResult {
  summary: RunSummary;
  started: number;
  completed: number;
  succeeded: number;
  failed: number;
  /** Clients still inside their flow when the run stopped. */
  incomplete: number;
  durationMs: number;
  stoppedBy: 'done' | 'duration' | 'signal';
}

function isPrepared(f: Flow | PreparedFlow): f is PreparedFlow {
  return 'program' in f;
}

/** Run-scope fillers derived from the target, unless the flow or the command line set them. */
export function targetVars(target: URL): Record<string, string> {
  const origin = originOf(target);
  const port = String(origin.port);
  return {
    'webrtc-srv-url': target.toString(),
    'webrtc-srv-name': origin.host,
    'target-url': target.toString().replace(/\/$/, ''),
    'target-host': origin.host,
    'http-port': port,
    'websocket-port': port,
    'content-type': 'application/json',
  };
}

function fixedVars(prepared: PreparedFlow, index: number): Record<string, string> {
  const rows = prepared.dataRows;
  const fixed: Record<string, string> = rows.length ? { ...rows[index % rows.length] } : {};
  for (const [name, r] of Object.entries(prepared.flow.ranges)) {
    const n = (r.start + BigInt(index) * r.step).toString().padStart(r.width, '0');
    fixed[name] = `${r.prefix}${n}`;
  }
  fixed['client-index'] = String(index);
  fixed['client-number'] = String(index + 1);
  return fixed;
}

/** When the k-th client (from 0) starts, in ms after the run began (linear ramp, then constant). */
export function startTimeMs(k: number, rate: number, rampUpMs: number): number {
  if (rate <= 0 || !Number.isFinite(rate)) return 0;
  const rampClients = (rate * rampUpMs) / 2000;
  if (rampUpMs > 0 && k < rampClients) return Math.sqrt((2 * k * rampUpMs) / (rate / 1000));
  return rampUpMs / 2 + (k * 1000) / rate;
}

export async function runFlow(opts: RunOptions): Promise<RunResult> {
  // Everything that can be wrong with the configuration fails here, before any traffic.
  let target: URL;
  try {
    target = toUrl(opts.target, 'http');
  } catch {
    throw new FlowConfigError(`bad target URL: ${opts.target}`);
  }
  const clients = opts.clients ?? 1;
  const rate = opts.rate ?? 10;
  const rampUpMs = opts.rampUpMs ?? 0;
  const concurrency = opts.concurrency ?? Infinity;
  if (!Number.isInteger(clients) || clients < 0) throw new FlowConfigError(`clients must be a whole number, got ${clients}`);
  if (!(rate > 0)) throw new FlowConfigError(`rate must be positive, got ${rate}`);
  if (!(concurrency >= 1)) throw new FlowConfigError(`concurrency must be at least 1, got ${concurrency}`);
  if (opts.repeat && opts.durationMs === undefined) throw new FlowConfigError('repeat needs a duration');
  const prepared = isPrepared(opts.flow) ? opts.flow : prepareFlow(opts.flow, { dataFile: opts.dataFile, resolveMessage: opts.resolveMessage });
  const flow = prepared.flow;

  const recorder = opts.recorder ?? new RunRecorder({
    intervalMs: opts.intervalMs ?? 1000,
    csvPath: opts.csvPath,
    onInterval: opts.progress ? (snap) => opts.progress!.write(`${formatProgressLine(snap)}\n`) : undefined,
  });
  recorder.describeRun({ flow: flow.name, target: target.toString(), clients, rate, rampUpMs, durationMs: opts.durationMs ?? null, concurrency: Number.isFinite(concurrency) ? concurrency : null, repeat: opts.repeat ?? false });

  const origin = originOf(target);
  const pool = new HttpPool();
  const env: ClientEnvironment = {
    prepared,
    pool,
    origin,
    hostHeader: target.host,
    wsBase: `${origin.tls ? 'wss' : 'ws'}://${target.host}`,
    runVars: { ...targetVars(target), ...flow.vars, ...(opts.vars ?? {}) },
    recorder: recorder as RecorderLike,
    defaultTimeoutMs: opts.timeoutMs ?? flow.options.timeoutMs,
  };

  const active = new Set<EmulatedClient>();
  let started = 0;
  let completed = 0;
  let succeeded = 0;
  let failed = 0;
  let incomplete = 0;
  let stopping = false;
  let stoppedBy: RunResult['stoppedBy'] = 'done';
  const t0 = performance.now();

  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  let scheduleTimer: NodeJS.Timeout | undefined;
  let durationTimer: NodeJS.Timeout | undefined;

  const maybeFinish = (): void => {
    if (active.size === 0 && (stopping || (started >= clients && !opts.repeat))) finish();
  };

  const launch = (index: number): void => {
    const client = new EmulatedClient(env, index + 1, fixedVars(prepared, index));
    active.add(client);
    recorder.clientStarted(client.id);
    const loop = async (): Promise<void> => {
      do {
        const r = await client.run();
        if (!r.completed) {
          incomplete++;
          break;
        }
        completed++;
        if (r.ok) succeeded++;
        else failed++;
      } while (opts.repeat && !stopping);
    };
    loop()
      .catch(() => { failed++; })
      .finally(() => {
        active.delete(client);
        recorder.clientEnded(client.id);
        schedule();
        maybeFinish();
      });
  };

  // One timer drives every start: at most one pending at a time, whatever the client count.
  const schedule = (): void => {
    if (stopping) return;
    if (scheduleTimer) { clearTimeout(scheduleTimer); scheduleTimer = undefined; }
    const now = performance.now() - t0;
    while (started < clients && active.size < concurrency && startTimeMs(started, rate, rampUpMs) <= now) {
      launch(started++);
    }
    if (started < clients && active.size < concurrency) {
      scheduleTimer = setTimeout(schedule, Math.max(1, startTimeMs(started, rate, rampUpMs) - now));
    }
  };

  const stop = (why: RunResult['stoppedBy']): void => {
    if (stopping) return;
    stopping = true;
    stoppedBy = why;
    if (scheduleTimer) clearTimeout(scheduleTimer);
    for (const c of active) c.abort();
    pool.close();
    maybeFinish();
  };

  if (opts.durationMs !== undefined) durationTimer = setTimeout(() => stop('duration'), opts.durationMs);
  const onAbort = (): void => stop('signal');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) stop('signal');

  if (clients === 0) finish();
  schedule();
  await done;

  if (durationTimer) clearTimeout(durationTimer);
  opts.signal?.removeEventListener('abort', onAbort);
  pool.close();
  if ((stoppedBy as RunResult['stoppedBy']) === 'signal') recorder.setVerdict('aborted', 'stopped by signal');
  recorder.close();
  const summary = recorder.summary();
  if (opts.jsonPath) writeJsonSummary(opts.jsonPath, summary);
  if (opts.htmlPath) writeHtmlReport(opts.htmlPath, summary, recorder.intervals(), recorder.sampleLadders());
  return {
    summary,
    started,
    completed,
    succeeded,
    failed,
    incomplete,
    durationMs: performance.now() - t0,
    stoppedBy,
  };
}
