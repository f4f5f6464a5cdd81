/**
 * Prometheus metrics of the REST hooks, per app and method: requests by outcome, latency, failures
 * by kind, requests let through by fail-open, status events waiting and dropped, circuit state.
 * Registered in the gateway's registry so `/metrics` shows them beside the rest.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { FailureKind } from './http-client.ts';

export type DropReason = 'overflow' | 'expired' | 'shutdown' | 'global-limit' | 'disabled';

export interface HookMetricsSource {
  /** Status events waiting, per app. */
  queueDepth(): Map<string, number>;
  /** Apps whose circuit is open or half-open. */
  circuits(): Map<string, 0 | 1>;
}

export class HookMetrics {
  private readonly requests: Counter<'app' | 'method' | 'outcome'>;
  private readonly latency: Histogram<'app' | 'method'>;
  private readonly failuresTotal: Counter<'app' | 'method' | 'kind'>;
  private readonly failOpen: Counter<'app' | 'method'>;
  private readonly dropped: Counter<'app' | 'method' | 'reason'>;
  private source: HookMetricsSource | undefined;

  constructor(registry: Registry, prefix = 'portico_') {
    const registers = [registry];
    const source = () => this.source;
    this.requests = new Counter({
      name: `${prefix}hook_requests_total`,
      help: 'REST hook requests sent, by app, method and outcome (ok, refused, failed)',
      labelNames: ['app', 'method', 'outcome'],
      registers,
    });
    this.latency = new Histogram({
      name: `${prefix}hook_request_duration_seconds`,
      help: 'REST hook request latency, by app and method',
      labelNames: ['app', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.failuresTotal = new Counter({
      name: `${prefix}hook_failures_total`,
      help: 'REST hook failures, by app, method and kind (unreachable, timeout, server-error, invalid-response, circuit-open)',
      labelNames: ['app', 'method', 'kind'],
      registers,
    });
    this.failOpen = new Counter({
      name: `${prefix}hook_fail_open_total`,
      help: 'Requests let through unchecked because their hook failed and the method fails open',
      labelNames: ['app', 'method'],
      registers,
    });
    this.dropped = new Counter({
      name: `${prefix}hook_events_dropped_total`,
      help: 'Status events never delivered, by app, method and reason (overflow, expired, shutdown, global-limit)',
      labelNames: ['app', 'method', 'reason'],
      registers,
    });
    new Gauge({
      name: `${prefix}hook_queue_depth`,
      help: 'Status events waiting to be delivered, by app',
      labelNames: ['app'],
      registers,
      collect() {
        this.reset();
        for (const [app, n] of source()?.queueDepth() ?? []) this.set({ app }, n);
      },
    });
    new Gauge({
      name: `${prefix}hook_circuit_open`,
      help: 'Whether the circuit breaker of an app is open (1) or closed (0)',
      labelNames: ['app'],
      registers,
      collect() {
        this.reset();
        for (const [app, v] of source()?.circuits() ?? []) this.set({ app }, v);
      },
    });
  }

  setSource(source: HookMetricsSource): void {
    this.source = source;
  }

  request(app: string, method: string, outcome: 'ok' | 'refused' | 'failed', seconds: number): void {
    this.requests.inc({ app, method, outcome });
    this.latency.observe({ app, method }, seconds);
  }

  failure(app: string, method: string, kind: FailureKind): void {
    this.failuresTotal.inc({ app, method, kind });
  }

  failedOpen(app: string, method: string): void {
    this.failOpen.inc({ app, method });
  }

  drop(app: string, method: string, reason: DropReason, n = 1): void {
    this.dropped.inc({ app, method, reason }, n);
  }
}
