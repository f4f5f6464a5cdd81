/** REST hooks: the core's policy port over HTTP, wire-compatible with Web Call Server. See README.md. */
export { RestHooks } from './rest-hooks.ts';
export type { RestHooksOptions } from './rest-hooks.ts';
export { HookSession } from './hook-session.ts';
export { AppStore, AppStoreError } from './app-store.ts';
export type { AppPatch, AppStoreErrorCode } from './app-store.ts';
export { appSchema, hooksConfigSchema, hooksConfig, restMethodConfigSchema } from './config.ts';
export type { AppConfig, AppInput, HooksConfig, RestMethodConfig } from './config.ts';
export { HOOK_METHODS, HOOK_KIND, DEFAULT_FAILURE_MODE, DEFAULT_TIMEOUT_MS, hookMethodNamed, isHookMethod } from './methods.ts';
export type { HookMethod, HookKind, FailureMode } from './methods.ts';
export { HookHttpClient, describeOutcome, reasonOf } from './http-client.ts';
export type { HookOutcome, FailureKind, HookTarget } from './http-client.ts';
export { CircuitBreaker } from './breaker.ts';
export type { BreakerState } from './breaker.ts';
export { signBody, verifySignature, wcsAuthorization, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './signing.ts';
export { HookMetrics } from './metrics.ts';
export { AdminApi, redactApp } from './admin-api.ts';
export type { AdminApiOptions } from './admin-api.ts';
