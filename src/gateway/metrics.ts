/**
 * Prometheus metrics for `/metrics`: a `GatewayObserver` counting what happens (connections,
 * calls, registration outcomes, messages, errors) and gauges read from `gateway.stats()` at scrape
 * time (live connections, accounts, registrations by state, calls by state, SIP transactions).
 * One registry per instance, so several gateways in one process keep their own figures.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Account, Call, CallStateName, Connection, GatewayObserver, GatewayStats, RegistrationStateName } from '../core/index.ts';

export interface GatewayMetricsOptions {
  /** Node process metrics (CPU, memory, event loop lag) as well. Default true. */
  processMetrics?: boolean;
  prefix?: string;
}

export class GatewayMetrics implements GatewayObserver {
  readonly registry = new Registry();
  private statsSource: (() => GatewayStats | undefined) | undefined;
  private readonly connectionsTotal: Counter<'door'>;
  private readonly callsTotal: Counter<'direction'>;
  private readonly callsEnded: Counter<'direction'>;
  private readonly registrationOutcomes: Counter<'outcome'>;
  private readonly messages: Counter<'direction' | 'outcome'>;
  private readonly errors: Counter<'code'>;

  constructor(opts: GatewayMetricsOptions = {}) {
    const p = opts.prefix ?? 'portico_';
    const registers = [this.registry];
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: p });
    const stats = () => this.statsSource?.();

    this.connectionsTotal = new Counter({ name: `${p}connections_total`, help: 'Client connections opened, by door', labelNames: ['door'], registers });
    this.callsTotal = new Counter({ name: `${p}calls_total`, help: 'Calls started, by direction', labelNames: ['direction'], registers });
    this.callsEnded = new Counter({ name: `${p}calls_ended_total`, help: 'Calls ended, by direction', labelNames: ['direction'], registers });
    this.registrationOutcomes = new Counter({
      name: `${p}registration_outcomes_total`,
      help: 'REGISTER outcomes reported to clients (registered, failed)',
      labelNames: ['outcome'],
      registers,
    });
    this.messages = new Counter({
      name: `${p}messages_total`,
      help: 'SIP MESSAGEs: sent (accepted/failed) and received (message/disposition)',
      labelNames: ['direction', 'outcome'],
      registers,
    });
    this.errors = new Counter({ name: `${p}errors_total`, help: 'Errors, by code', labelNames: ['code'], registers });

    new Gauge({
      name: `${p}connections`,
      help: 'Client connections open now',
      registers,
      collect() {
        this.set(stats()?.connections ?? 0);
      },
    });
    new Gauge({
      name: `${p}accounts`,
      help: 'Accounts added on open connections',
      registers,
      collect() {
        this.set(stats()?.accounts ?? 0);
      },
    });
    new Gauge({
      name: `${p}registrations`,
      help: 'Accounts by registration state',
      labelNames: ['state'],
      registers,
      collect() {
        const s = stats();
        for (const [state, n] of Object.entries(s?.registrations ?? {})) if (state !== 'none') this.set({ state }, n);
      },
    });
    new Gauge({
      name: `${p}calls`,
      help: 'Calls by state',
      labelNames: ['state'],
      registers,
      collect() {
        const s = stats();
        for (const [state, n] of Object.entries(s?.calls ?? {})) if (state !== 'terminated') this.set({ state }, n);
      },
    });
    new Gauge({
      name: `${p}sip_transactions`,
      help: 'SIP transactions in progress (client and server)',
      registers,
      collect() {
        this.set(stats()?.sipTransactions ?? 0);
      },
    });
    new Gauge({
      name: `${p}sip_dialogs`,
      help: 'SIP dialogs (early and confirmed)',
      registers,
      collect() {
        this.set(stats()?.sipDialogs ?? 0);
      },
    });
  }

  /** Where the gauges read the live figures (the gateway, once built). */
  setStatsSource(source: () => GatewayStats | undefined): void {
    this.statsSource = source;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  // ---- GatewayObserver -------------------------------------------------------------------------

  connectionOpened(conn: Connection): void {
    this.connectionsTotal.inc({ door: conn.door });
  }

  registrationChanged(_account: Account, _from: RegistrationStateName | 'none', to: RegistrationStateName | 'none'): void {
    if (to === 'registered' || to === 'failed') this.registrationOutcomes.inc({ outcome: to });
  }

  callStateChanged(call: Call, from: CallStateName | 'none', to: CallStateName | 'none'): void {
    if (from === 'none') this.callsTotal.inc({ direction: call.direction });
    if (to === 'terminated') this.callsEnded.inc({ direction: call.direction });
  }

  messageSent(outcome: 'accepted' | 'failed'): void {
    this.messages.inc({ direction: 'sent', outcome });
  }

  messageReceived(kind: 'message' | 'disposition'): void {
    this.messages.inc({ direction: 'received', outcome: kind });
  }

  error(code: string): void {
    this.errors.inc({ code });
  }
}
