/**
 * Settings of the REST hooks: the applications (name, key, REST URL, credentials for the hook
 * requests, enabled methods, deadlines, failure modes) and the mechanism around them (global
 * switch, event queue bounds, retry back-off, circuit breaker, connection pool, admin API token).
 * The gateway's config embeds `hooksConfigSchema` under `hooks`; the app store and the admin API
 * validate apps with `appSchema`.
 */
import { z } from 'zod';
import { HOOK_METHODS, hookMethodNamed, type FailureMode, type HookMethod } from './methods.ts';

const methodName = z.string({ error: 'expected a REST method name' }).transform((name, ctx) => {
  const m = hookMethodNamed(name);
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `unknown REST method "${name}"; expected one of ${HOOK_METHODS.join(', ')}` });
    return z.NEVER;
  }
  return m;
});

const ms = (what: string) => z.number({ error: `expected ${what} in milliseconds` }).int({ error: `expected ${what} in whole milliseconds` }).positive({ error: `expected ${what} above 0 ms` });

/** `{ default: 1000, call: 500 }`: a value per method, `default` for the rest. */
function perMethod<T extends z.ZodType>(value: T) {
  return z
    .record(z.string(), value, { error: 'expected a map of REST method name (or "default") to a value' })
    .superRefine((rec, ctx) => {
      for (const key of Object.keys(rec)) {
        if (key !== 'default' && !hookMethodNamed(key)) ctx.addIssue({ code: 'custom', path: [key], message: `unknown REST method "${key}"` });
      }
    })
    .transform((rec) => {
      const out: Partial<Record<HookMethod | 'default', z.infer<T>>> = {};
      for (const [key, v] of Object.entries(rec)) out[key === 'default' ? 'default' : hookMethodNamed(key)!] = v as z.infer<T>;
      return out;
    });
}

const restPolicyValue = z.enum(['NOTIFY', 'OVERWRITE', 'DISABLE'], { error: 'expected NOTIFY, OVERWRITE or DISABLE' });
const restOnErrorValue = z.enum(['LOG', 'FAIL'], { error: 'expected LOG or FAIL' });
const fieldList = z.union([z.string(), z.array(z.string())], { error: 'expected a comma-separated list of field names' }).transform((v) =>
  (Array.isArray(v) ? v : v.split(','))
    .map((f) => f.trim())
    .filter((f) => f !== ''),
);

/** WCS's per-method `restClientConfig` entry (a backend returns these in its answer to `connect`). */
export const restMethodConfigSchema = z
  .object({
    restPolicy: restPolicyValue.optional(),
    restOverwrite: fieldList.optional(),
    restExclude: fieldList.optional(),
    clientExclude: fieldList.optional(),
    restOnError: restOnErrorValue.optional(),
  })
  .loose();

export type RestMethodConfig = z.infer<typeof restMethodConfigSchema>;

export const APP_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const appSchema = z
  .object({
    /** Unique name, as in WCS `add app <name> <appKey> <url>`. */
    name: z.string({ error: 'expected an app name' }).regex(APP_NAME_RE, { error: 'expected an app name of letters, digits, _ . - (at most 64)' }),
    /** The key a client may send to pick this app (WCS `appKey`); defaults to the name. */
    key: z.string({ error: 'expected an app key' }).min(1).max(128).optional(),
    /** REST base URL; each method is POSTed to `<url>/<method>`. */
    url: z
      .string({ error: 'expected an http(s) URL such as http://127.0.0.1:9091/EchoApp' })
      .refine((u) => {
        try {
          const p = new URL(u);
          return (p.protocol === 'http:' || p.protocol === 'https:') && p.hostname !== '' && !p.search && !p.hash && !p.username;
        } catch {
          return false;
        }
      }, { error: 'expected an http(s) URL without query, fragment or credentials, such as http://127.0.0.1:9091/EchoApp' }),
    enabled: z.boolean({ error: 'expected true or false' }).default(true),
    /** Methods sent to the backend; `all` or a list. A method not enabled is not sent (the request proceeds unchanged). */
    methods: z.union([z.literal('all'), z.array(methodName)], { error: 'expected "all" or a list of REST method names' }).default('all'),
    /** HTTP basic auth for the hook requests (WCS `restUsername` / `restPassword`). */
    username: z.string().min(1).optional(),
    password: z.string().optional(),
    /** HMAC-SHA256 key: requests carry `X-Portico-Timestamp` and `X-Portico-Signature`. */
    secret: z.string().min(16, { error: 'expected a secret of at least 16 characters' }).optional(),
    /** WCS's `rest_hook_secret_key`: requests carry `Authorization: WCS <hex HMAC-MD5 of the body>`. */
    wcsSecret: z.string().min(1).optional(),
    /** Per-attempt deadline per method (ms). */
    timeoutsMs: perMethod(ms('a timeout')).default({}),
    /** What a failure (unreachable, timeout, 5xx, invalid JSON) does per method: `open` lets it through, `closed` refuses. */
    onFailure: perMethod(z.enum(['open', 'closed'], { error: 'expected open or closed' })).default({}),
    /** restClientConfig in force from the start (a backend may return more in its answer to `connect`). */
    restClientConfig: z.record(methodName, restMethodConfigSchema).optional(),
  })
  .strict()
  .superRefine((app, ctx) => {
    if (app.password !== undefined && app.username === undefined) ctx.addIssue({ code: 'custom', path: ['password'], message: 'a password needs a username' });
    if (app.wcsSecret !== undefined && app.username !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['wcsSecret'], message: 'wcsSecret and username both use the Authorization header; choose one' });
    }
  });

export type AppInput = z.input<typeof appSchema>;
export type AppConfig = z.infer<typeof appSchema>;

export const hooksConfigSchema = z
  .object({
    /** Global switch (WCS `disable_rest_requests`): off, no request leaves the gateway. */
    enabled: z.boolean({ error: 'expected true or false' }).default(true),
    /** `nodeId` in every body; default `<random>@<first IPv4 address>`. */
    nodeId: z.string().min(1).optional(),
    /** Where apps changed at run time are kept (JSON); when it exists it is the list of apps. */
    appsFile: z.string().min(1).optional(),
    apps: z.array(appSchema, { error: 'expected a list of apps' }).default([]),
    /** App for connections whose door names none and whose domain maps to none. */
    defaultApp: z.string().optional(),
    /** App per SIP domain of the first account a connection adds. */
    domainApps: z.record(z.string(), z.string(), { error: 'expected a map of SIP domain to app name' }).default({}),
    /** App per WebSocket path of a door (the sylkRTC door's path, ...). */
    listenerApps: z.record(z.string(), z.string(), { error: 'expected a map of WebSocket path to app name' }).default({}),
    queue: z
      .object({
        /** Status events waiting per connection; beyond it the oldest is dropped (and counted). */
        limit: z.number().int().min(1).default(1000),
        /** Status events waiting in all; beyond it new ones are dropped (and counted). */
        globalLimit: z.number().int().min(1).default(100_000),
        retryBaseMs: ms('a delay').default(200),
        retryMaxMs: ms('a delay').default(5000),
        /** An event still not delivered after this long is dropped (and counted). */
        maxAgeMs: ms('an age').default(300_000),
      })
      .strict()
      .prefault({}),
    breaker: z
      .object({
        /** Consecutive failures that open the circuit of an app; 0 = never. */
        failures: z.number().int().min(0).default(5),
        /** How long an open circuit fails fast before one request tries again. */
        cooldownMs: ms('a delay').default(5000),
      })
      .strict()
      .prefault({}),
    pool: z
      .object({
        /** Keep-alive connections per backend origin for direct requests (`connect`, `call`, ...: somebody waits). */
        connections: z.number().int().min(1).default(32),
        /** Keep-alive connections per backend origin for status events; also how many events of an app are in flight at most. */
        eventConnections: z.number().int().min(1).default(16),
        keepAliveMs: ms('a timeout').default(30_000),
      })
      .strict()
      .prefault({}),
    admin: z
      .object({
        /** Bearer token for the admin API (/admin/apps); without one the API is off. Env: PORTICO_ADMIN_TOKEN. */
        token: z.string().min(16, { error: 'expected a token of at least 16 characters' }).optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type HooksConfig = z.infer<typeof hooksConfigSchema>;

/** The full hooks settings with every default, from a partial object (tests, embedding). */
export function hooksConfig(input: z.input<typeof hooksConfigSchema> = {}): HooksConfig {
  return hooksConfigSchema.parse(input);
}

/** The app's failure mode for a method: its own setting, its default, or the built-in default. */
export function failureModeOf(app: AppConfig, method: HookMethod, builtin: FailureMode): FailureMode {
  return app.onFailure[method] ?? app.onFailure.default ?? builtin;
}
