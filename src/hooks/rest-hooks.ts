/**
 * REST hooks: the core's policy port over HTTP, wire-compatible with Web Call Server's hooks.
 *
 * `RestHooks` owns what the connections share: the apps (`AppStore`), the keep-alive HTTP client,
 * a circuit breaker per app and the metrics. Each core connection gets a `HookSession` (in
 * `hook-session.ts`): it picks the app, asks the backend before direct requests, and delivers
 * status events through its own ordered, bounded queue.
 */
import { networkInterfaces } from 'node:os';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { PolicyContext, PolicyPort, PolicySession } from '../core/index.ts';
import { AppStore } from './app-store.ts';
import type { Body } from './bodies.ts';
import { CircuitBreaker } from './breaker.ts';
import type { AppConfig, HooksConfig } from './config.ts';
import { HookSession } from './hook-session.ts';
import { HookHttpClient, type HookOutcome } from './http-client.ts';
import { DEFAULT_TIMEOUT_MS, HOOK_KIND, type HookMethod } from './methods.ts';
import { HookMetrics, type DropReason } from './metrics.ts';

export interface RestHooksOptions {
  config: HooksConfig;
  /** The apps; default: an `AppStore` on `config.appsFile`, seeded with `config.apps`. */
  store?: AppStore;
  logger?: Logger;
  /** Where the metrics go (the gateway's registry); none: no metrics. */
  registry?: Registry;
  /** How long `close()` lets queued status events leave (default 2000 ms). */
  closeTimeoutMs?: number;
}

/** The status events of one app: how many are on their way, and the connections waiting for a turn. */
interface EventLane {
  inFlight: number;
  waiting: HookSession[];
  head: number;
}

function firstIPv4(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

export class RestHooks implements PolicyPort {
  readonly config: HooksConfig;
  readonly store: AppStore;
  readonly nodeId: string;
  readonly log: Logger;
  readonly metrics: HookMetrics | undefined;
  /** Global switch (WCS `disable_rest_requests`); can be changed at run time. */
  enabled: boolean;
  private readonly client: HookHttpClient;
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly sessions = new Set<HookSession>();
  private readonly lanes = new Map<string, EventLane>();
  private serveScheduled = false;
  private readonly closeTimeoutMs: number;
  private queuedTotal = 0;
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  constructor(opts: RestHooksOptions) {
    this.config = opts.config;
    this.enabled = opts.config.enabled;
    this.store = opts.store ?? new AppStore({ file: opts.config.appsFile, seed: opts.config.apps });
    this.nodeId = opts.config.nodeId ?? `${randomBytes(6).toString('hex')}@${firstIPv4()}`;
    this.log = (opts.logger ?? pino({ level: 'silent' })).child({ component: 'hooks' });
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 2000;
    const pool = opts.config.pool;
    this.client = new HookHttpClient({ connections: pool.connections, eventConnections: pool.eventConnections, keepAliveMs: pool.keepAliveMs });
    if (opts.registry) {
      this.metrics = new HookMetrics(opts.registry);
      this.metrics.setSource({ queueDepth: () => this.queueDepth(), circuits: () => this.circuits() });
    }
    // A changed app gets a fresh breaker (its URL may be new).
    this.store.onChange(() => this.breakers.clear());
  }

  open(ctx: PolicyContext): PolicySession {
    const session = new HookSession(this, ctx);
    this.sessions.add(session);
    return session;
  }

  /** Lets queued status events leave for at most `closeTimeoutMs`, drops the rest, closes the pool. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  get isClosing(): boolean {
    return this.closing !== undefined;
  }

  /** Status events waiting in all connections. */
  get queued(): number {
    return this.queuedTotal;
  }

  private async doClose(): Promise<void> {
    if (this.queuedTotal > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.drained = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, this.closeTimeoutMs))),
      ]);
      clearTimeout(timer);
    }
    for (const s of this.sessions) s.discard('shutdown');
    this.sessions.clear();
    await this.client.close();
    this.log.info('hooks closed');
  }

  // ---- used by sessions ------------------------------------------------------------------------

  /** The app a connection uses: by the client's key, the door's choice, the SIP domain, or the default. */
  resolveApp(ctx: PolicyContext, appKey: string | undefined, domain: string | undefined): string | undefined {
    if (appKey !== undefined && appKey !== '') {
      const byKey = this.store.byKey(appKey);
      if (byKey) return byKey.name;
    }
    if (ctx.app !== undefined) return this.store.get(ctx.app)?.name ?? this.store.byKey(ctx.app)?.name ?? ctx.app;
    if (domain !== undefined) {
      const byDomain = this.config.domainApps[domain];
      if (byDomain !== undefined) return byDomain;
    }
    return this.config.defaultApp;
  }

  /**
   * The app if `method` should be sent to it now; undefined when hooks, the app or the method are
   * off. `queued`: for an event already queued, which may still leave while the hooks close.
   */
  activeApp(name: string | undefined, method: HookMethod, queued = false): AppConfig | undefined {
    if (!this.enabled || name === undefined || (this.closing && !queued)) return undefined;
    const app = this.store.get(name);
    if (!app || !app.enabled) return undefined;
    if (app.methods !== 'all' && !app.methods.includes(method)) return undefined;
    return app;
  }

  timeoutOf(app: AppConfig, method: HookMethod): number {
    return app.timeoutsMs[method] ?? app.timeoutsMs.default ?? DEFAULT_TIMEOUT_MS[method];
  }

  breakerOf(app: string): CircuitBreaker {
    let b = this.breakers.get(app);
    if (!b) this.breakers.set(app, (b = new CircuitBreaker(this.config.breaker)));
    return b;
  }

  /** One request, through the app's breaker, counted. Never throws. */
  async send(app: AppConfig, method: HookMethod, body: Body, needJson: boolean): Promise<HookOutcome> {
    const breaker = this.breakerOf(app.name);
    if (!breaker.allow()) {
      const outcome: HookOutcome = { kind: 'failed', failure: 'circuit-open', detail: `circuit open after ${breaker.failures} failures` };
      this.metrics?.request(app.name, method, 'failed', 0);
      this.metrics?.failure(app.name, method, 'circuit-open');
      return outcome;
    }
    const started = performance.now();
    const outcome = await this.client.post(app, method, JSON.stringify(body), this.timeoutOf(app, method), needJson, HOOK_KIND[method] === 'event' ? 'event' : 'direct');
    const seconds = (performance.now() - started) / 1000;
    if (outcome.kind === 'failed') {
      breaker.failure();
      this.metrics?.failure(app.name, method, outcome.failure);
    } else breaker.success();
    this.metrics?.request(app.name, method, outcome.kind, seconds);
    return outcome;
  }

  /**
   * @internal A connection has a status event to send to `app`. Each app has a lane: at most
   * `pool.eventConnections` events in flight (one per connection, so each connection's events stay
   * in order), the connections waiting their turn first come, first served. Nothing is sent from
   * inside the caller: the lane is served once the signalling code that reported the event has
   * returned (a microtask, so within the same turn of the event loop: an event still reaches the
   * backend before whatever the client does next, as far as one request at a time allows).
   */
  ready(session: HookSession, app: string): void {
    let lane = this.lanes.get(app);
    if (!lane) this.lanes.set(app, (lane = { inFlight: 0, waiting: [], head: 0 }));
    lane.waiting.push(session);
    if (!this.serveScheduled) {
      this.serveScheduled = true;
      queueMicrotask(this.serveAll);
    }
  }

  private readonly serveAll = (): void => {
    this.serveScheduled = false;
    for (const lane of this.lanes.values()) this.serve(lane);
  };

  private serve(lane: EventLane): void {
    const limit = this.config.pool.eventConnections;
    while (lane.inFlight < limit && lane.head < lane.waiting.length) {
      const session = lane.waiting[lane.head++]!;
      if (session.sendNext(() => this.turnOver(lane))) lane.inFlight++;
    }
    if (lane.head === lane.waiting.length) {
      lane.waiting.length = 0;
      lane.head = 0;
    } else if (lane.head > 1024 && lane.head * 2 > lane.waiting.length) {
      lane.waiting.splice(0, lane.head);
      lane.head = 0;
    }
  }

  private turnOver(lane: EventLane): void {
    lane.inFlight--;
    this.serve(lane);
  }

  /** @internal A session's queue grew (+1) or shrank (-n). */
  countQueued(delta: number): void {
    this.queuedTotal += delta;
    if (this.queuedTotal <= 0) {
      this.queuedTotal = 0;
      this.drained?.();
    }
  }

  /** @internal Whether the global bound leaves room for one more event. */
  roomForEvent(): boolean {
    return this.queuedTotal < this.config.queue.globalLimit;
  }

  /** @internal A closed session with nothing left to send. */
  forget(session: HookSession): void {
    this.sessions.delete(session);
  }

  dropped(app: string, method: string, reason: DropReason, n = 1): void {
    this.metrics?.drop(app, method, reason, n);
    this.log.warn({ app, method, reason, n }, 'status event dropped');
  }

  private queueDepth(): Map<string, number> {
    const out = new Map<string, number>();
    for (const app of this.store.list()) out.set(app.name, 0);
    for (const s of this.sessions) for (const [app, n] of s.queuedByApp()) out.set(app, (out.get(app) ?? 0) + n);
    return out;
  }

  private circuits(): Map<string, 0 | 1> {
    const out = new Map<string, 0 | 1>();
    for (const [name, b] of this.breakers) out.set(name, b.state === 'closed' ? 0 : 1);
    return out;
  }
}
