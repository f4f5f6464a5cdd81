/**
 * The gateway's configuration: one zod schema with the defaults a newcomer needs to try Portico on
 * one machine (WebSocket API at ws://127.0.0.1:10888/webrtcgateway/ws, SIP on 127.0.0.1:5060 UDP and
 * TCP, and with no outbound proxy the embedded local SIP domain `portico.local` with demo users),
 * a loader for YAML or JSON files, and the environment variables that override the file.
 *
 * Every error names the setting it is about: `sip.port: expected a port number (0-65535), got "abc"
 * (from PORTICO_SIP_PORT)`.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { hooksConfigSchema } from '../hooks/config.ts';

const port = z
  .number({ error: 'expected a port number (0-65535)' })
  .int({ error: 'expected a port number (0-65535)' })
  .min(0, { error: 'expected a port number (0-65535)' })
  .max(65535, { error: 'expected a port number (0-65535)' });
const positiveMs = (what: string) => z.number({ error: `expected ${what} in milliseconds` }).int({ error: `expected ${what} in whole milliseconds` }).positive({ error: `expected ${what} above 0 ms` });
const host = z.string({ error: 'expected a host name or IP address' }).min(1, { error: 'expected a host name or IP address' });
const domain = z
  .string({ error: 'expected a domain name' })
  .regex(/^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$|^\d+\.\d+\.\d+\.\d+$/, {
    error: 'expected a domain name such as example.com',
  });
const sipUri = z
  .string({ error: 'expected a SIP URI such as sip:proxy.example.com;transport=tcp' })
  .regex(/^sips?:[^\s<>]+$/i, { error: 'expected a SIP URI such as sip:proxy.example.com;transport=tcp' });
const tlsFiles = z
  .object(
    {
      /** PEM certificate (chain) file. */
      cert: z.string({ error: 'expected the path of a PEM certificate file' }).min(1, { error: 'expected the path of a PEM certificate file' }),
      /** PEM private key file. */
      key: z.string({ error: 'expected the path of a PEM private key file' }).min(1, { error: 'expected the path of a PEM private key file' }),
    },
    { error: 'expected { cert: FILE, key: FILE }' },
  )
  .strict();
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const mediaMode = z.enum(['bridge', 'pass-through'], { error: 'expected "bridge" or "pass-through"' });
const mediaSchema = z
  .object({
    /** `bridge`: WebRTC to the browser, plain RTP to SIP (the default); `pass-through`: the SDP crosses unchanged. */
    mode: mediaMode.default('bridge'),
    /** Per SIP peer domain (the callee's for outgoing calls, the caller's for incoming ones); `*.example.com` covers subdomains. */
    routes: z
      .array(
        z
          .object({
            domain: z.string({ error: 'expected a domain name such as example.com' }).regex(/^(\*\.)?[A-Za-z0-9.-]+$/, { error: 'expected a domain name such as example.com or *.example.com' }),
            mode: mediaMode,
          })
          .strict(),
        { error: 'expected a list of { domain, mode }' },
      )
      .default([]),
    /** Address media sockets bind to. */
    host: host.default('127.0.0.1'),
    /** Address written into SDP when it differs from `host` (0.0.0.0, NAT). */
    announceAddress: host.optional(),
    /** UDP ports for media (inclusive); absent: ephemeral ports. */
    portRange: z
      .object({ min: port, max: port })
      .strict()
      .refine((r) => r.min <= r.max, { error: 'expected min <= max' })
      .optional(),
    /** ICE and DTLS with the browser must complete within this once both sides have the other's SDP. */
    setupTimeoutMs: positiveMs('a timeout').default(15_000),
    /** A call whose browser or SIP side sends nothing this long is ended. */
    inactivityTimeoutMs: positiveMs('a timeout').default(60_000),
    rtcpIntervalMs: positiveMs('an interval').default(5000),
    /** DTMF between RFC 4733 events (browsers) and SIP INFO `application/dtmf-relay`, where one side lacks one. */
    dtmf: z
      .object({
        /** `auto`: relay RFC 4733 when SIP negotiated telephone-event, else SIP INFO; `rfc4733`: relay only; `info`: always SIP INFO. */
        fromBrowser: z.enum(['auto', 'rfc4733', 'info'], { error: 'expected "auto", "rfc4733" or "info"' }).default('auto'),
        /** SIP INFO from the SIP side becomes RFC 4733 towards the browser (when it negotiated telephone-event). */
        infoToBrowser: z.boolean({ error: 'expected true or false' }).default(true),
      })
      .strict()
      .prefault({}),
    /** The local domain's `echo@` user, answered by Portico with the caller's own audio. */
    echo: z
      .object({ enabled: z.boolean({ error: 'expected true or false' }).default(true), user: z.string().regex(/^[A-Za-z0-9\-_.]+$/, { error: 'expected a SIP user name' }).default('echo') })
      .strict()
      .prefault({}),
  })
  .strict();

const seconds = (what: string, min = 1) => z.number({ error: `expected ${what} in seconds` }).int({ error: `expected whole seconds` }).min(min, { error: `expected at least ${min} s` });
const httpUrl = z.string({ error: 'expected an http(s) URL' }).regex(/^https?:\/\/[^\s]+$/i, { error: 'expected an http(s) URL' });

/** One line of a REST-door user: its number on the REST side, its SIP identity and credentials. */
const omaLine = z
  .object(
    {
      lineId: z.string({ error: 'expected a line id such as line1' }).min(1).max(64).optional(),
      msisdn: z.string({ error: 'expected a global number such as +12065550100' }).regex(/^\+[0-9]{3,20}$/, { error: 'expected a global number such as +12065550100' }),
      email: z.string({ error: 'expected an e-mail address' }).max(256).optional(),
      /** SIP address of record; default `<msisdn>@<the SIP domain>`. */
      aor: z.string({ error: 'expected user@domain' }).regex(/^[^\s@]+@[^\s@]+$/, { error: 'expected user@domain' }).optional(),
      password: z.string({ error: 'expected a password' }).min(1).optional(),
      /** H(user:realm:password) instead of the password. */
      ha1: z.string({ error: 'expected 32 hex digits' }).regex(/^[0-9a-fA-F]{32}$/, { error: 'expected 32 hex digits' }).optional(),
      displayName: z.string().max(128).optional(),
    },
    { error: 'expected a line { msisdn, aor?, password | ha1, ... }' },
  )
  .strict();

const omaUser = z
  .object(
    {
      lines: z.array(omaLine, { error: 'expected a list of lines' }).min(1, { error: 'expected at least one line' }).max(16),
      /** Password of the embedded login form (development only). */
      loginPassword: z.string().min(1).optional(),
    },
    { error: 'expected a user { lines: [...] }' },
  )
  .strict();

export const DEFAULT_DEMO_USERS: Record<string, string> = { alice: 'alice', bob: 'bob', carol: 'carol' };

export const configSchema = z
  .object({
    http: z
      .object({
        /** Address of the HTTP/WebSocket server. 127.0.0.1 by default: set 0.0.0.0 to serve other machines. */
        host: host.default('127.0.0.1'),
        port: port.default(10888),
        /** Where sylkRTC clients open their WebSocket (SylkServer's path). */
        wsPath: z.string({ error: 'expected a path such as /webrtcgateway/ws' }).regex(/^\/\S*$/, { error: 'expected a path starting with /' }).default('/webrtcgateway/ws'),
        /** With a certificate the server speaks HTTPS and WSS. */
        tls: tlsFiles.optional(),
        /** The demo web phone at the root URL (`/`), with the local domain's demo users. */
        demoPhone: z.boolean({ error: 'expected true or false' }).default(true),
      })
      .strict()
      .prefault({}),
    sip: z
      .object({
        host: host.default('127.0.0.1'),
        /** UDP and TCP port: the local domain's when it runs, else the gateway's own SIP stack's. */
        port: port.default(5060),
        transports: z
          .array(z.enum(['udp', 'tcp'], { error: 'expected "udp" or "tcp" (TLS is enabled by sip.tls)' }), { error: 'expected a list such as [udp, tcp]' })
          .min(1, { error: 'expected at least one transport' })
          .default(['udp', 'tcp']),
        /** SIP over TLS (RFC 3261 §26.2) on this port when `sip.tls` gives a certificate. */
        tlsPort: port.default(5061),
        tls: tlsFiles.optional(),
        /** A real SIP server: every request goes there, and the local domain does not run. */
        outboundProxy: sipUri.optional(),
        /** Account domains clients may add. Empty: the local domain's, or any with an outbound proxy. */
        domains: z.array(domain, { error: 'expected a list of domain names' }).default([]),
        userAgent: z.string({ error: 'expected a string' }).min(1).default('Portico'),
        /** RFC 3261 timers T1, T2, T4 (§17.1.1.1, §17.1.2.2). */
        timers: z
          .object({ t1: positiveMs('T1').default(500), t2: positiveMs('T2').default(4000), t4: positiveMs('T4').default(5000) })
          .strict()
          .prefault({}),
        registration: z
          .object({
            /** Binding lifetime asked of the registrar (s). */
            expires: z.number({ error: 'expected seconds (60-86400)' }).int({ error: 'expected whole seconds' }).min(60, { error: 'expected at least 60 s' }).max(86400, { error: 'expected at most 86400 s' }).default(600),
            /** Retry after a transient failure (408, 5xx); 0: never. */
            retryMs: z.number({ error: 'expected milliseconds' }).int().min(0, { error: 'expected 0 or more ms' }).default(30_000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** The embedded registrar and proxy used when no outbound proxy is configured. */
    localDomain: z
      .object({
        domain: domain.default('portico.local'),
        /** User name → password. */
        users: z
          .record(z.string().regex(/^[A-Za-z0-9\-_.!~*'()&=+$,;?/]+$/, { error: 'expected a SIP user name' }), z.string({ error: 'expected a password' }).min(1, { error: 'expected a non-empty password' }), {
            error: 'expected a map of user name to password',
          })
          .default(DEFAULT_DEMO_USERS),
      })
      .strict()
      .prefault({}),
    calls: z
      .object({
        /** How an unanswered incoming call is declined. */
        declineCode: z.number({ error: 'expected a SIP status (400-699)' }).int().min(400, { error: 'expected a SIP status (400-699)' }).max(699, { error: 'expected a SIP status (400-699)' }).default(486),
        reinviteAnswerTimeoutMs: positiveMs('a timeout').default(10_000),
      })
      .strict()
      .prefault({}),
    /** The media plane: how each call's audio crosses between the browser and SIP. */
    media: mediaSchema.prefault({}),
    log: z
      .object({ level: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info') })
      .strict()
      .prefault({}),
    shutdown: z
      .object({
        /** Bound on un-REGISTERs, BYEs and CANCELs when a connection or the gateway closes. */
        timeoutMs: positiveMs('a timeout').default(2000),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({ enabled: z.boolean({ error: 'expected true or false' }).default(true) })
      .strict()
      .prefault({}),
    /** REST hooks: the operator's web application allows, denies and changes (src/hooks/README.md). */
    hooks: hooksConfigSchema.prefault({}),
    /** The REST door (OMA/GSMA-style WebRTC API with a notification channel); see src/api/oma/PROTOCOL.md. */
    oma: z
      .object({
        enabled: z.boolean({ error: 'expected true or false' }).default(false),
        /** INIT: the web app's entry, answered 303 to the login page. */
        initPath: z.string().regex(/^\/\S*$/, { error: 'expected a path starting with /' }).default('/webrtc'),
        /** Where reg_srv sends the browser with sessionId and clientId (a path on the gateway, or a URL). */
        appUrl: z.string().min(1).default('/wrcprohome.html'),
        /** The gateway's URL as clients reach it, for the URLs the door hands out; default from the Host header. */
        publicUrl: httpUrl.optional(),
        /** User id (as the identity provider names it) → lines. */
        users: z.record(z.string().regex(/^[A-Za-z0-9._@+-]{1,128}$/, { error: 'expected a user id' }), omaUser, { error: 'expected a map of user id to { lines }' }).default({}),
        auth: z
          .object({
            /** `embedded`: the configured users, no identity provider (development); `oauth2`: the production path. */
            mode: z.enum(['embedded', 'oauth2'], { error: 'expected "embedded" or "oauth2"' }).default('embedded'),
            /** Embedded only: accept reg_srv's user_id alone (load tests, development). */
            trustUserId: z.boolean({ error: 'expected true or false' }).default(true),
            oauth2: z
              .object({
                authorizeUrl: httpUrl,
                tokenUrl: httpUrl,
                userInfoUrl: httpUrl.optional(),
                clientId: z.string().min(1),
                clientSecret: z.string().min(1).optional(),
                scope: z.string().optional(),
                userClaim: z.string().min(1).default('sub'),
              })
              .strict()
              .optional(),
          })
          .strict()
          .prefault({})
          .refine((a) => a.mode !== 'oauth2' || a.oauth2 !== undefined, { error: 'mode oauth2 needs oauth2 { authorizeUrl, tokenUrl, clientId }' }),
        channel: z
          .object({
            defaultLifetimeS: seconds('a lifetime').default(3600),
            minLifetimeS: seconds('a lifetime').default(10),
            maxLifetimeS: seconds('a lifetime').default(86_400),
            /** Period of the gateway's connCheck on WebSockets; 0: none. */
            checkIntervalS: seconds('an interval', 0).default(60),
            longPollTimeoutMs: positiveMs('a timeout').default(25_000),
            maxQueued: z.number().int().min(1).default(256),
          })
          .strict()
          .prefault({}),
        session: z
          .object({
            /** A session without a notification channel ends after this long without a request. */
            idleTimeoutS: seconds('a timeout').default(120),
            maxChannels: z.number().int().min(1).default(4),
            maxSubscriptions: z.number().int().min(1).default(16),
            maxCalls: z.number().int().min(1).default(8),
            maxChats: z.number().int().min(1).default(64),
            registerTimeoutMs: positiveMs('a timeout').default(10_000),
          })
          .strict()
          .prefault({}),
        maxBodyBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024),
        maxSessions: z.number().int().min(1).default(10_000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type GatewayConfig = z.infer<typeof configSchema>;

/** Environment variables that override the file, and the setting each sets. */
export const ENV_OVERRIDES: ReadonlyArray<{ name: string; path: string[]; number: boolean }> = [
  { name: 'PORTICO_HTTP_PORT', path: ['http', 'port'], number: true },
  { name: 'PORTICO_SIP_PORT', path: ['sip', 'port'], number: true },
  { name: 'PORTICO_LOG_LEVEL', path: ['log', 'level'], number: false },
  { name: 'PORTICO_ADMIN_TOKEN', path: ['hooks', 'admin', 'token'], number: false },
];

export interface ConfigIssue {
  /** Dotted path of the setting, e.g. `sip.port`. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly issues: ConfigIssue[];
  constructor(source: string, issues: ConfigIssue[]) {
    super(`invalid configuration (${source}):\n${issues.map((i) => `  - ${i.path || '(top level)'}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Validates a raw configuration object (from a file, or `{}`), after applying `env` overrides. */
export function parseConfig(raw: unknown, opts: { env?: NodeJS.ProcessEnv; source?: string } = {}): GatewayConfig {
  const source = opts.source ?? 'built-in defaults';
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(source, [{ path: '', message: 'expected a mapping of settings' }]);
  const data = structuredClone(raw) as Record<string, unknown>;
  const fromEnv = new Map<string, string>();
  for (const o of ENV_OVERRIDES) {
    const value = opts.env?.[o.name];
    if (value === undefined || value === '') continue;
    const parsed = o.number && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
    setPath(data, o.path, parsed);
    fromEnv.set(o.path.join('.'), o.name);
  }
  const result = configSchema.safeParse(data);
  if (result.success) return result.data;
  const issues: ConfigIssue[] = [];
  for (const issue of result.error.issues) {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) issues.push({ path: [...base, key].join('.'), message: 'unknown setting' });
      continue;
    }
    const path = base.join('.');
    const value = getPath(data, issue.path);
    let message = issue.message;
    if (value !== undefined && issue.code !== 'invalid_union') message += `, got ${describe(value)}`;
    const env = fromEnv.get(path);
    if (env) message += ` (from ${env})`;
    issues.push({ path, message });
  }
  throw new ConfigError(source, issues);
}

/**
 * Reads a YAML or JSON file (YAML is a superset of JSON), applies the environment, validates, and
 * resolves TLS file paths relative to the file. Without a file: the defaults and the environment.
 */
export function loadConfig(file?: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  if (!file) return parseConfig({}, { env, source: 'built-in defaults' });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read the file: ${(err as Error).message}` }]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `not valid YAML or JSON: ${(err as Error).message}` }]);
  }
  const config = parseConfig(raw, { env, source: file });
  const base = dirname(resolve(file));
  if (config.hooks.appsFile && !isAbsolute(config.hooks.appsFile)) config.hooks.appsFile = resolve(base, config.hooks.appsFile);
  for (const tls of [config.http.tls, config.sip.tls]) {
    if (!tls) continue;
    if (!isAbsolute(tls.cert)) tls.cert = resolve(base, tls.cert);
    if (!isAbsolute(tls.key)) tls.key = resolve(base, tls.key);
  }
  return config;
}

/** Reads the PEM files of a TLS setting; a missing file is a ConfigError naming the setting. */
export function readTlsFiles(path: string, tls: { cert: string; key: string }, source = 'configuration'): { cert: Buffer; key: Buffer } {
  const read = (field: 'cert' | 'key'): Buffer => {
    try {
      return readFileSync(tls[field]);
    } catch (err) {
      throw new ConfigError(source, [{ path: `${path}.${field}`, message: `cannot read ${tls[field]}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
    }
  };
  return { cert: read('cert'), key: read('key') };
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    const next = cur[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

function getPath(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}
