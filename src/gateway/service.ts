/**
 * `portico gateway` as an object: builds every component from one validated config and owns them.
 * Logs (pino), metrics (prom-client), the core `Gateway` with its SIP stack, the embedded local SIP
 * domain when no outbound proxy is configured, the HTTP server with its doors. `close()` is the
 * graceful shutdown: upgrades refused, doors closed (their connections end calls and un-REGISTER),
 * then the gateway, the SIP stack and the local domain.
 */
import pino, { type Logger } from 'pino';
import { EmbeddedAuthenticator, OAuth2Authenticator, OmaDoor, type OmaUser } from '../api/oma/index.ts';
import { SylkRtcDoor } from '../api/sylkrtc/index.ts';
import { DemoPage } from '../console/index.ts';
import { Gateway, type LocalDomainPort } from '../core/index.ts';
import { AdminApi, RestHooks } from '../hooks/index.ts';
import { MediaBridge } from '../media/index.ts';
import { LocalSipDomain } from '../sip/registrar/index.ts';
import type { SipStackOptions } from '../sip/ua/index.ts';
import { readTlsFiles, type GatewayConfig } from './config.ts';
import { EchoService, echoPassword } from './echo-service.ts';
import { GatewayMetrics } from './metrics.ts';
import { GatewayHttpServer, type Door } from './server.ts';

export interface GatewayServiceOptions {
  /** Defaults to pino on stdout at `config.log.level`. */
  logger?: Logger;
  /** Where the config came from, for error messages. */
  source?: string;
  /** Doors by WebSocket path; default: the sylkRTC door at `config.http.wsPath`. */
  doors?: (gateway: Gateway, logger: Logger) => Record<string, Door>;
}

export interface GatewayService {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly gateway: Gateway;
  readonly http: GatewayHttpServer;
  readonly metrics: GatewayMetrics | undefined;
  readonly localDomain: LocalSipDomain | undefined;
  /** The media bridge every call's SDP crosses. */
  readonly media: MediaBridge;
  /** `echo@<local domain>`, when the local domain runs and `media.echo.enabled`. */
  readonly echo: EchoService | undefined;
  /** The REST hooks (the gateway's policy) and their apps. */
  readonly hooks: RestHooks;
  /** The REST door, when `oma.enabled`. */
  readonly oma: OmaDoor | undefined;
  /** `ws://host:port/webrtcgateway/ws` (wss with TLS). */
  wsUrl(): string;
  /** Graceful shutdown; idempotent. */
  close(): Promise<void>;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** The REST door's users with every line's AOR completed (`<msisdn>@<domain>` by default). */
export function omaUsers(config: GatewayConfig, domain: string): OmaUser[] {
  return Object.entries(config.oma.users).map(([id, u]) => ({
    id,
    loginPassword: u.loginPassword,
    lines: u.lines.map((l, i) => ({
      lineId: l.lineId ?? `line${i + 1}`,
      msisdn: l.msisdn,
      email: l.email,
      aor: l.aor ?? `${l.msisdn}@${domain}`,
      password: l.password,
      ha1: l.ha1,
      displayName: l.displayName,
    })),
  }));
}

/** The REST door as the configuration describes it. */
function createOmaDoor(config: GatewayConfig, gateway: Gateway, users: OmaUser[], logger: Logger): OmaDoor {
  const { auth: a, channel: c, session: sess } = config.oma;
  return new OmaDoor(gateway, {
    authenticator: a.mode === 'oauth2' ? new OAuth2Authenticator(a.oauth2!, users) : new EmbeddedAuthenticator(users, { trustUserId: a.trustUserId }),
    initPath: config.oma.initPath,
    appUrl: config.oma.appUrl,
    publicUrl: config.oma.publicUrl,
    maxBodyBytes: config.oma.maxBodyBytes,
    maxSessions: config.oma.maxSessions,
    logger,
    session: {
      idleTimeoutMs: sess.idleTimeoutS * 1000,
      maxChannels: sess.maxChannels,
      maxSubscriptions: sess.maxSubscriptions,
      maxCalls: sess.maxCalls,
      maxChats: sess.maxChats,
      registerTimeoutMs: sess.registerTimeoutMs,
      channel: {
        defaultLifetimeS: c.defaultLifetimeS,
        minLifetimeS: c.minLifetimeS,
        maxLifetimeS: c.maxLifetimeS,
        checkIntervalMs: c.checkIntervalS * 1000,
        longPollTimeoutMs: c.longPollTimeoutMs,
        maxQueued: c.maxQueued,
      },
    },
  });
}

export async function startGatewayService(config: GatewayConfig, opts: GatewayServiceOptions = {}): Promise<GatewayService> {
  const source = opts.source ?? 'configuration';
  const logger = opts.logger ?? pino({ level: config.log.level, base: { service: 'portico' } });
  const metrics = config.metrics.enabled ? new GatewayMetrics() : undefined;

  // SIP sockets on the configured address: the local domain's, or our own with a real SIP network.
  const sipTls = config.sip.tls ? readTlsFiles('sip.tls', config.sip.tls, source) : undefined;
  const publicListen: SipStackOptions['listen'] = config.sip.transports.map((protocol) => ({ protocol, host: config.sip.host, port: config.sip.port }));
  if (sipTls) publicListen.push({ protocol: 'tls', host: config.sip.host, port: config.sip.tlsPort, tls: sipTls });
  const httpTls = config.http.tls ? readTlsFiles('http.tls', config.http.tls, source) : undefined;

  let localDomain: LocalSipDomain | undefined;
  let localPort: LocalDomainPort | undefined;
  let listen = publicListen;
  const restUsers = config.oma.enabled ? omaUsers(config, config.sip.domains[0] ?? config.localDomain.domain) : [];
  // Development: REST-door lines with a password in the local domain are users of it too.
  const restSipUsers: Array<{ name: string; password: string }> = [];
  for (const l of restUsers.flatMap((u) => u.lines)) {
    const at = l.aor.lastIndexOf('@');
    if (l.password && l.aor.slice(at + 1) === config.localDomain.domain && !(l.aor.slice(0, at) in config.localDomain.users)) restSipUsers.push({ name: l.aor.slice(0, at), password: l.password });
  }
  // The echo user joins the local domain's users with a password nobody else knows.
  const echoUser = !config.sip.outboundProxy && config.media.echo.enabled && !(config.media.echo.user in config.localDomain.users) ? { name: config.media.echo.user, password: echoPassword() } : undefined;
  if (!config.sip.outboundProxy) {
    localDomain = new LocalSipDomain({
      domain: config.localDomain.domain,
      users: [...Object.entries(config.localDomain.users).map(([name, password]) => ({ name, password })), ...(echoUser ? [echoUser] : []), ...(config.sip.outboundProxy ? [] : restSipUsers)],
      listen: publicListen,
      timers: config.sip.timers,
      logger,
    });
    const domain = localDomain;
    // Our own stack talks to the in-process domain over loopback TCP: WebRTC SDP outgrows UDP's 1300 bytes (RFC 3261 §18.1.1).
    const host = isWildcard(config.sip.host) ? '127.0.0.1' : config.sip.host;
    listen = [
      { protocol: 'tcp', host, port: 0 },
      { protocol: 'udp', host, port: 0 },
    ];
    localPort = {
      start: () => domain.start(),
      close: () => domain.close(),
      proxyUri: () => domain.proxyUri(domain.local('tcp') ? 'tcp' : 'udp'),
    };
  }
  const domains = config.sip.domains.length > 0 ? config.sip.domains : localDomain ? [config.localDomain.domain] : [];

  const hooks = new RestHooks({ config: config.hooks, logger, registry: metrics?.registry, closeTimeoutMs: config.shutdown.timeoutMs });

  const m = config.media;
  const media = new MediaBridge({
    mode: m.mode,
    routes: m.routes,
    host: m.host,
    announceAddress: m.announceAddress,
    portRange: m.portRange ? [m.portRange.min, m.portRange.max] : undefined,
    timers: { setupTimeoutMs: m.setupTimeoutMs, inactivityTimeoutMs: m.inactivityTimeoutMs, rtcpIntervalMs: m.rtcpIntervalMs },
    dtmf: m.dtmf,
    logger,
  });
  await media.start();

  const gateway = new Gateway({
    sip: { listen, outboundProxy: config.sip.outboundProxy, timers: config.sip.timers, userAgent: config.sip.userAgent },
    domains,
    registration: config.sip.registration,
    calls: config.calls,
    closeTimeoutMs: config.shutdown.timeoutMs,
    logger,
    observer: metrics,
    localDomain: localPort,
    media,
    policy: hooks,
  });
  metrics?.setStatsSource(() => gateway.stats());
  // A call the media gave up on (timeout, DTLS failure) ends with the reason the client sees.
  media.attach((ref, reason) => gateway.connection(ref.connectionId)?.call(ref.id)?.terminate(reason));
  // A browser's RFC 4733 digit for a SIP side without telephone-event goes as SIP INFO on the call's dialog.
  media.attachDtmf((ref, digit, durationMs) => gateway.connection(ref.connectionId)?.call(ref.id)?.sendDtmf(digit, durationMs));
  try {
    await gateway.start();
  } catch (err) {
    media.close();
    throw err;
  }
  let echo: EchoService | undefined;
  if (echoUser) {
    echo = new EchoService({ stack: gateway.stack, domain: config.localDomain.domain, user: echoUser.name, password: echoUser.password, host: m.host, logger });
    await echo.start();
  }

  const http = new GatewayHttpServer({
    host: config.http.host,
    port: config.http.port,
    tls: httpTls,
    logger,
    metrics,
    closeTimeoutMs: config.shutdown.timeoutMs,
    onError: (code) => metrics?.error(code),
    admin: new AdminApi({ store: hooks.store, token: config.hooks.admin.token, hooks }),
    health: () => {
      const s = gateway.stats();
      return { ok: gateway.isRunning, connections: s.connections, accounts: s.accounts, registered: s.registrations.registered };
    },
  });
  const doors = opts.doors
    ? opts.doors(gateway, logger)
    : { [config.http.wsPath]: new SylkRtcDoor(gateway, { logger, app: config.hooks.listenerApps[config.http.wsPath] }) };
  for (const [path, door] of Object.entries(doors)) http.addDoor(path, door);
  const oma = config.oma.enabled ? createOmaDoor(config, gateway, restUsers, logger) : undefined;
  if (oma) {
    http.addHttpDoor(oma);
    http.addUpgradePrefix(oma.upgradePrefix, oma);
  }
  if (config.http.demoPhone) {
    // What a newcomer opens first: the local domain's demo users and its echo, one click away.
    const users = localDomain ? Object.entries(config.localDomain.users).map(([name, password]) => ({ name, password })) : [];
    http.addHttpDoor(new DemoPage({ wsPath: config.http.wsPath, domain: domains[0] ?? config.localDomain.domain, users, echo: echo?.aor, logger }));
  }
  try {
    await http.start();
  } catch (err) {
    await Promise.allSettled([...Object.values(doors), ...(oma ? [oma] : [])].map((d) => d.close()));
    await echo?.close();
    await gateway.close();
    media.close();
    await hooks.close();
    throw err;
  }

  let closing: Promise<void> | undefined;
  const service: GatewayService = {
    config,
    logger,
    gateway,
    http,
    metrics,
    localDomain,
    hooks,
    oma,
    media,
    echo,
    wsUrl: () => `${http.url().replace(/^http/, 'ws')}${config.http.wsPath}`,
    close: () =>
      (closing ??= (async () => {
        logger.info('shutting down');
        http.beginClosing();
        await http.close();
        await echo?.close();
        await gateway.close();
        media.close();
        // Last: the status events of the connections just closed still get their bounded time.
        await hooks.close();
        logger.info('shut down');
      })()),
  };
  logger.info(
    {
      ws: service.wsUrl(),
      phone: config.http.demoPhone ? `${http.url()}/` : undefined,
      sip: localDomain
        ? publicListen.map((l) => `${l.protocol}:${localDomain.local(l.protocol)?.host ?? l.host}:${localDomain.local(l.protocol)?.port ?? l.port}`)
        : publicListen.map((l) => `${l.protocol}:${gateway.stack.transport.local(l.protocol)?.host ?? l.host}:${gateway.stack.transport.local(l.protocol)?.port ?? l.port}`),
      outboundProxy: config.sip.outboundProxy,
      localDomain: localDomain ? { domain: config.localDomain.domain, users: Object.keys(config.localDomain.users) } : undefined,
    },
    'Portico gateway ready',
  );
  return service;
}
