/**
 * `portico sip ...`: a SIP user agent on the command line, on Portico's own stack. Handy to probe a
 * SIP server (`options`), check credentials (`register`), send a MESSAGE, place a short call, or
 * stand as a small UA that answers (`listen`).
 */
import type { Command } from 'commander';
import { SipStack, type SipUser, type SipUserCredentials } from '../sip/ua/index.ts';
import type { ListenSpec, TransportProtocol } from '../sip/transport/index.ts';
import { parseUri } from '../sip/message/index.ts';
import { createLogger } from '../util/log.ts';

interface CommonOptions {
  bind: string;
  port: string;
  transport: string;
  from: string;
  user?: string;
  password?: string;
  ha1?: string;
  proxy?: string;
  timeout: string;
}

const PROTOCOLS = ['udp', 'tcp'];

function addCommon(cmd: Command, defaultPort = '0'): Command {
  return cmd
    .option('--bind <address>', 'local address to bind', '127.0.0.1')
    .option('--port <port>', 'local SIP port (0 = any free port)', defaultPort)
    .option('-t, --transport <proto>', 'udp | tcp', 'udp')
    .option('--from <aor>', 'our address of record', 'sip:portico@127.0.0.1')
    .option('-u, --user <name>', 'authentication user name (default: the AOR user)')
    .option('-p, --password <secret>', 'password for digest authentication')
    .option('--ha1 <hex>', 'H(user:realm:password) instead of a password')
    .option('--proxy <uri>', 'outbound proxy, e.g. sip:127.0.0.1:5060;transport=tcp')
    .option('--timeout <seconds>', 'give up after this long', '35');
}

async function withUser<T>(opts: CommonOptions, fn: (user: SipUser, stack: SipStack) => Promise<T>): Promise<T> {
  const transport = opts.transport.toLowerCase() as TransportProtocol;
  if (!PROTOCOLS.includes(transport)) throw new Error(`unknown transport "${opts.transport}" (use ${PROTOCOLS.join(', ')})`);
  if (transport !== 'udp' && transport !== 'tcp') throw new Error(`the command line speaks udp and tcp; ${transport} is for the gateway`);
  // Both, so answers come back whichever transport the peer picks (RFC 3261 §18.2.2).
  const port = Number(opts.port);
  const listen: ListenSpec[] = [
    { protocol: 'udp', host: opts.bind, port },
    { protocol: 'tcp', host: opts.bind, port },
  ];
  const stack = new SipStack({
    listen,
    outboundProxy: opts.proxy,
    logger: createLogger({ component: 'sip' }, process.env.PORTICO_LOG_LEVEL ?? 'warn'),
  });
  await stack.start();
  const credentials: SipUserCredentials | undefined =
    opts.password || opts.ha1 ? { username: opts.user, password: opts.password, ha1: opts.ha1 } : undefined;
  const user = stack.createUser({ aor: opts.from, credentials, transport });
  const timer = setTimeout(() => {
    console.error(`no answer within ${opts.timeout} s`);
    process.exit(2);
  }, Number(opts.timeout) * 1000);
  try {
    return await fn(user, stack);
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exitCode = 1;
    return undefined as T;
  } finally {
    clearTimeout(timer);
    await stack.close();
  }
}

/** With `-t tcp`, a target without `;transport=` is reached over TCP too. */
function targetFor(uri: string, opts: CommonOptions): string {
  const parsed = parseUri(uri);
  if (opts.transport.toLowerCase() !== 'udp' && !parsed.params.has('transport')) return `${uri};transport=${opts.transport.toLowerCase()}`;
  return uri;
}

function report(status: number, reason: string): void {
  console.log(`${status} ${reason}`);
  process.exitCode = status >= 200 && status < 300 ? 0 : 1;
}

export function registerSipCommands(program: Command): void {
  const sip = program.command('sip').description('a SIP user agent on the command line');

  addCommon(sip.command('options <uri>').description('send OPTIONS and print the answer')).action(async (uri: string, opts: CommonOptions) => {
    await withUser(opts, async (user) => {
      const res = await user.options(targetFor(uri, opts));
      report(res.status, res.reason);
      for (const name of ['Allow', 'Accept', 'Supported', 'Server', 'User-Agent']) {
        const v = res.headers.get(name);
        if (v) console.log(`${name}: ${v}`);
      }
    });
  });

  addCommon(sip.command('register').description('register --from with its registrar, print the bindings, then un-register'))
    .option('--registrar <uri>', 'registrar URI (default: the AOR domain)')
    .option('--expires <seconds>', 'binding lifetime', '600')
    .option('--stay', 'stay registered (refreshing) until Ctrl-C')
    .action(async (opts: CommonOptions & { registrar?: string; expires: string; stay?: boolean }) => {
      await withUser(opts, async (user) => {
        const reg = user.registration({ registrar: opts.registrar, expires: Number(opts.expires), retry: opts.stay ? undefined : false });
        try {
          const info = await reg.register();
          console.log(`registered for ${info.expires} s; ${info.contacts.length} binding(s) for this AOR`);
          if (opts.stay) {
            reg.on('registered', (i) => console.log(`refreshed for ${i.expires} s`));
            reg.on('failed', (f) => console.log(`refresh failed: ${f.status} ${f.reason}`));
            await new Promise<void>((resolve) => process.once('SIGINT', resolve));
          }
          await reg.unregister();
          console.log('unregistered');
        } catch (err) {
          const f = err as { status?: number; reason?: string; message: string };
          console.log(`registration failed: ${f.status ?? ''} ${f.reason ?? f.message}`);
          process.exitCode = 1;
        }
      });
    });

  addCommon(sip.command('message <uri> <text>').description('send a MESSAGE (RFC 3428)'))
    .option('--type <content-type>', 'Content-Type of the text', 'text/plain')
    .action(async (uri: string, text: string, opts: CommonOptions & { type: string }) => {
      await withUser(opts, async (user) => {
        const res = await user.message(targetFor(uri, opts), text, opts.type);
        report(res.status, res.reason);
      });
    });

  addCommon(sip.command('call <uri>').description('place a call with a minimal audio offer, hold it, then hang up'))
    .option('--hold-for <seconds>', 'how long to stay in the call', '2')
    .action(async (uri: string, opts: CommonOptions & { holdFor: string }) => {
      await withUser(opts, async (user, stack) => {
        const local = stack.transport.local(user.protocol) ?? { host: '127.0.0.1' };
        const sdp = minimalOffer(local.host);
        const call = user.call(targetFor(uri, opts), { sdp });
        call.on('progress', (res) => console.log(`${res.status} ${res.reason}`));
        const outcome = await Promise.race([
          call.next('established').then(() => 'established' as const),
          call.next('ended').then(([r]) => r),
        ]);
        if (outcome !== 'established') return report(outcome.status ?? 500, outcome.reason ?? outcome.cause);
        console.log('200 established');
        await new Promise((r) => setTimeout(r, Number(opts.holdFor) * 1000));
        await call.terminate();
        console.log('hung up');
      });
    });

  addCommon(
    sip.command('listen').description('run a user agent that answers OPTIONS, prints MESSAGEs and declines calls; --register makes it reachable through a registrar'),
    '5060',
  )
    .option('--register', 'register --from with its registrar (the --proxy, or the AOR domain) and stay registered')
    .action(async (opts: CommonOptions & { register?: boolean }) => {
      const transport = opts.transport.toLowerCase() as TransportProtocol;
      const log = createLogger({ component: 'sip' }, process.env.PORTICO_LOG_LEVEL ?? 'warn');
      const listen: ListenSpec[] = [
        { protocol: 'udp', host: opts.bind, port: Number(opts.port) },
        { protocol: 'tcp', host: opts.bind, port: Number(opts.port) },
      ];
      const stack = new SipStack({ listen, outboundProxy: opts.proxy, logger: log });
      await stack.start();
      const aor = parseUri(opts.from);
      const credentials: SipUserCredentials | undefined =
        opts.password || opts.ha1 ? { username: opts.user, password: opts.password, ha1: opts.ha1 } : undefined;
      const user = stack.createUser({ aor: opts.from, contactUser: aor.user, transport, credentials });
      user.on('message', (m) => console.log(`MESSAGE from ${m.from}: ${m.body.toString('utf8')}`));
      user.on('invite', (c) => {
        console.log(`INVITE from ${c.from}: declined (no media here)`);
        c.reject(488, 'Not Acceptable Here');
      });
      const udp = stack.transport.local('udp');
      console.log(`listening on udp and tcp ${udp?.host}:${udp?.port} as ${opts.from} (Ctrl-C to stop)`);
      if (opts.register) {
        const reg = user.registration();
        reg.on('registered', (i) => console.log(`registered for ${i.expires} s`));
        reg.on('failed', (f) => console.log(`registration failed: ${f.status} ${f.reason}${f.retryInMs ? `; retrying in ${f.retryInMs / 1000} s` : ''}`));
        reg.register().catch(() => undefined);
      }
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await stack.close();
    });
}

function minimalOffer(host: string): string {
  const id = Date.now();
  return [
    'v=0',
    `o=portico ${id} ${id} IN IP4 ${host}`,
    's=portico',
    `c=IN IP4 ${host}`,
    't=0 0',
    'm=audio 49170 RTP/AVP 0 8 101',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=sendrecv',
    '',
  ].join('\r\n');
}
