/** The gateway process: config, HTTP server with doors, metrics, and the service that composes them. */
export { configSchema, loadConfig, parseConfig, readTlsFiles, ConfigError, ENV_OVERRIDES, DEFAULT_DEMO_USERS } from './config.ts';
export type { GatewayConfig, ConfigIssue } from './config.ts';
export { GatewayHttpServer, refuseUpgrade } from './server.ts';
export type { Door, GatewayHttpServerOptions, HealthReport } from './server.ts';
export { GatewayMetrics } from './metrics.ts';
export type { GatewayMetricsOptions } from './metrics.ts';
export { startGatewayService } from './service.ts';
export type { GatewayService, GatewayServiceOptions } from './service.ts';
