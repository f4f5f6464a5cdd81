// The interop harness proven against the real peers alone (no Portico code): SIPp scenarios
// against each other and through Kamailio, Kamailio's registrar, proxy and digest authentication,
// and its WebSocket and TLS listeners. Portico's interop tests build on exactly these pieces.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import { Kamailio } from './peers/kamailio.ts';
import { descendants } from './peers/processes.ts';
import { Sipp, type SippOptions, type SippTraceEntry } from './peers/sipp.ts';

const started: Sipp[] = [];

/** A SIPp started for one test and stopped after it, whatever happens. */
async function sipp(options: SippOptions): Promise<Sipp> {
  const peer = new Sipp(options);
  started.push(peer);
  await peer.start();
  return peer;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop()));
});

const summary = (messages: SippTraceEntry[]): string[] =>
  messages.map((m) => `${m.direction === 'sent' ? '>' : '<'} ${m.method ?? m.status}`);

const header = (message: SippTraceEntry | undefined, name: string): string | undefined =>
  message?.text
    .split('\r\n')
    .find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    ?.slice(name.length + 1)
    .trim();

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

describe('SIPp against SIPp', () => {
  it('completes a call: INVITE, 180, 200 with SDP, ACK, BYE from the caller (uas-invite-wait-bye)', async () => {
    const uas = await sipp({ scenario: 'uas-invite-wait-bye', calls: 1, service: 'bob' });
    const uac = await sipp({ scenario: 'uac-invite', remote: uas.address, calls: 1, service: 'bob', vars: { holdms: 50 } });
    const [caller, callee] = await Promise.all([uac.waitExit(5000), uas.waitExit(5000)]);
    assert.equal(caller.code, 0, uac.errors());
    assert.equal(callee.code, 0, uas.errors());
    assert.equal(callee.stats?.successfulCalls, 1);
    assert.equal(caller.stats?.failedCalls, 0);
    assert.deepEqual(summary(uas.messages()), ['< INVITE', '> 180', '> 200', '< ACK', '< BYE', '> 200']);
    const ok = uac.received().find((m) => m.status === 200 && header(m, 'CSeq')?.endsWith('INVITE'));
    assert.equal(header(ok, 'Content-Type'), 'application/sdp');
    assert.match(ok?.text ?? '', /\r\nm=audio \d+ RTP\/AVP 0\r\n/);
  });

  it('completes the same call over TCP (one connection, Content-Length framing)', async () => {
    const uas = await sipp({ scenario: 'uas-invite-wait-bye', calls: 1, transport: 'tcp' });
    const uac = await sipp({ scenario: 'uac-invite', remote: uas.address, calls: 1, transport: 'tcp', vars: { holdms: 20 } });
    const [caller, callee] = await Promise.all([uac.waitExit(5000), uas.waitExit(5000)]);
    assert.equal(caller.code, 0, uac.errors());
    assert.equal(callee.code, 0, uas.errors());
    assert.ok(uas.messages().every((m) => m.transport === 'TCP'));
    assert.match(header(uas.received()[0], 'Via') ?? '', /^SIP\/2\.0\/TCP /);
  });

  it('uas-invite-bye hangs up itself with a BYE that the caller sees (uac-invite waits for it)', async () => {
    const uas = await sipp({ scenario: 'uas-invite-bye', calls: 1, vars: { holdms: 20 } });
    // uac-invite would send its own BYE; a caller that only answers BYE is the built-in uac with a long call.
    const uac = await sipp({ scenario: 'uac', remote: uas.address, calls: 1, extraArgs: ['-d', '5000'] });
    const callee = await uas.waitExit(5000);
    assert.equal(callee.code, 0, uas.errors());
    assert.deepEqual(summary(uas.messages()), ['< INVITE', '> 100', '> 180', '> 200', '< ACK', '> BYE', '< 200']);
    const bye = uac.received().find((m) => m.method === 'BYE');
    assert.ok(bye, 'the caller received the BYE');
    // RFC 3261 §12.2.1.1: the callee's BYE is addressed to the caller's Contact, From = its To (with tag).
    const invite = uas.received().find((m) => m.method === 'INVITE');
    const callerContact = (header(invite, 'Contact') ?? '').replace(/^<(.*)>.*$/, '$1');
    assert.equal(bye.text.split('\r\n')[0], `BYE ${callerContact} SIP/2.0`);
    assert.equal(header(bye, 'To'), header(invite, 'From'));
    await uac.stop();
  });

  it('uas-register-401 challenges, checks the digest and answers 200 with Contact and Expires', async () => {
    const uas = await sipp({ scenario: 'uas-register-401', calls: 1, vars: { password: 'secret', expires: 120 } });
    const uac = await sipp({ scenario: 'uac-register', remote: uas.address, calls: 1, auth: { username: 'alice', password: 'secret' }, vars: { aor: 'alice' } });
    const [client, server] = await Promise.all([uac.waitExit(5000), uas.waitExit(5000)]);
    assert.equal(server.code, 0, uas.errors());
    assert.equal(client.code, 0, uac.errors());
    assert.deepEqual(summary(uas.messages()), ['< REGISTER', '> 401', '< REGISTER', '> 200']);
    const [, challenge, retry, ok] = uas.messages();
    assert.match(header(challenge, 'WWW-Authenticate') ?? '', /^Digest .*qop="auth"/);
    assert.match(header(retry, 'Authorization') ?? '', /^Digest .*username="alice"/);
    assert.match(header(ok, 'Contact') ?? '', /^<sip:alice@127\.0\.0\.1:\d+;transport=UDP>;expires=120$/);
    assert.equal(header(ok, 'Expires'), '120');
  });

  it('uas-register-401 rejects a wrong password with 403 and counts the call as failed', async () => {
    const uas = await sipp({ scenario: 'uas-register-401', calls: 1, vars: { password: 'secret' } });
    const uac = await sipp({ scenario: 'uac-register', remote: uas.address, calls: 1, auth: { username: 'alice', password: 'wrong' }, vars: { aor: 'alice' } });
    const [client, server] = await Promise.all([uac.waitExit(5000), uas.waitExit(5000)]);
    assert.equal(server.code, 1);
    assert.equal(server.stats?.failedCalls, 1);
    assert.equal(client.code, 1);
    assert.deepEqual(summary(uas.messages()).slice(0, 4), ['< REGISTER', '> 401', '< REGISTER', '> 403']);
  });

  it('uas-drop-first-invite answers only the caller\'s Timer A retransmission', async () => {
    const uas = await sipp({ scenario: 'uas-drop-first-invite', calls: 1, retransmissions: false });
    const uac = await sipp({ scenario: 'uac-invite', remote: uas.address, calls: 1, vars: { holdms: 20 } });
    const [caller, callee] = await Promise.all([uac.waitExit(5000), uas.waitExit(5000)]);
    assert.equal(callee.code, 0, uas.errors());
    assert.equal(caller.code, 0, uac.errors());
    const invites = uas.received().filter((m) => m.method === 'INVITE');
    assert.equal(invites.length, 2);
    // SIPp's caller retransmits after 500 ms (its retrans="500", i.e. T1).
    const gapMs = invites[1]!.timeMs - invites[0]!.timeMs;
    assert.ok(gapMs >= 400, `retransmitted after ${gapMs} ms`);
    assert.equal(header(invites[0], 'Via'), header(invites[1], 'Via'));
  });

  it('uac-message delivers text/plain to uas-message', async () => {
    const uas = await sipp({ scenario: 'uas-message', calls: 1 });
    const uac = await sipp({ scenario: 'uac-message', remote: uas.address, calls: 1, service: 'bob', vars: { text: 'hello bob' } });
    const [client, server] = await Promise.all([uac.waitExit(5000), uas.waitExit(5000)]);
    assert.equal(client.code, 0, uac.errors());
    assert.equal(server.code, 0, uas.errors());
    const message = uas.received()[0];
    assert.equal(header(message, 'Content-Type'), 'text/plain');
    assert.ok(message?.text.endsWith('\r\n\r\nhello bob'));
  });

  it('stops SIPp and rejects when waitExit passes its deadline; stop() is safe twice', async () => {
    const uas = await sipp({ scenario: 'uas-message', calls: 1 });
    await assert.rejects(uas.waitExit(200), { code: 'SIPP_TIMEOUT' });
    assert.equal(uas.running, false);
    const again = await uas.stop();
    assert.equal(again.stopped, true);
  });
});

describe('Kamailio registrar and proxy', () => {
  let kamailio: Kamailio;

  before(async () => {
    kamailio = new Kamailio({ users: { alice: 'secret', bob: 'secret' }, websocket: true, tls: true });
    await kamailio.start();
  });

  after(async () => {
    await kamailio.stop();
    await kamailio.stop();
  });

  it('answers OPTIONS addressed to itself (uac-options)', async () => {
    const uac = await sipp({ scenario: 'uac-options', remote: kamailio.address(), calls: 1, vars: { ruri: `sip:${kamailio.address()}` } });
    assert.equal((await uac.waitExit(5000)).code, 0, uac.errors());
  });

  it('registers alice after a 401 challenge and lists her contact', async () => {
    const uac = await sipp({ scenario: 'uac-register', remote: kamailio.address(), calls: 1, auth: { username: 'alice', password: 'secret' }, vars: { aor: 'alice', expires: 300 } });
    const result = await uac.waitExit(5000);
    assert.equal(result.code, 0, uac.errors());
    assert.deepEqual(summary(uac.messages()), ['> REGISTER', '< 401', '> REGISTER', '< 200']);
    const contacts = await kamailio.locations('alice');
    assert.equal(contacts.length, 1);
    assert.equal(contacts[0]?.uri, `sip:alice@127.0.0.1:${uac.port};transport=UDP`);
    assert.ok(contacts[0]!.expires > 290 && contacts[0]!.expires <= 300);
    assert.equal(contacts[0]?.socket, `udp:${kamailio.address('udp')}`);
    assert.ok((await kamailio.locations()).some((c) => c.aor === 'alice'));
  });

  it('does not register with a wrong password', async () => {
    const uac = await sipp({ scenario: 'uac-register', remote: kamailio.address(), calls: 1, auth: { username: 'bob', password: 'wrong' }, vars: { aor: 'bob' } });
    const result = await uac.waitExit(5000);
    assert.equal(result.code, 1);
    assert.deepEqual(summary(uac.messages()).slice(0, 4), ['> REGISTER', '< 401', '> REGISTER', '< 401']);
    assert.deepEqual(await kamailio.locations('bob'), []);
  });

  it('routes an authenticated call from a SIPp caller to a registered SIPp callee, record-routing it', async () => {
    const callee = await sipp({ scenario: 'uas-invite-wait-bye', calls: 1, service: 'bob' });
    const registration = await sipp({
      scenario: 'uac-register',
      remote: kamailio.address(),
      calls: 1,
      auth: { username: 'bob', password: 'secret' },
      vars: { aor: 'bob', contact: callee.uri('bob') },
    });
    assert.equal((await registration.waitExit(5000)).code, 0, registration.errors());
    assert.deepEqual((await kamailio.locations('bob')).map((c) => c.uri), [callee.uri('bob')]);

    const caller = await sipp({
      scenario: 'uac-invite',
      remote: kamailio.address(),
      calls: 1,
      service: 'bob',
      auth: { username: 'alice', password: 'secret' },
      vars: { caller: 'alice', holdms: 50 },
    });
    const [a, b] = await Promise.all([caller.waitExit(8000), callee.waitExit(8000)]);
    assert.equal(a.code, 0, caller.errors());
    assert.equal(b.code, 0, callee.errors());
    assert.deepEqual(summary(caller.messages()), ['> INVITE', '< 407', '> ACK', '> INVITE', '< 100', '< 180', '< 200', '> ACK', '> BYE', '< 200']);
    const invite = callee.received().find((m) => m.method === 'INVITE');
    assert.match(header(invite, 'Record-Route') ?? '', new RegExp(`^<sip:${kamailio.address()};lr`));
    assert.equal(header(invite, 'Proxy-Authorization'), undefined, 'credentials are consumed by the proxy');
    const bye = caller.sent().find((m) => m.method === 'BYE');
    assert.match(header(bye, 'Route') ?? '', new RegExp(`^<sip:${kamailio.address()};lr`));
  });

  it('relays a MESSAGE from alice (challenged with 407) to a registered recipient', async () => {
    const recipient = await sipp({ scenario: 'uas-message', calls: 1 });
    await kamailio.addLocation('carol', recipient.uri('carol'), 60);
    const sender = await sipp({ scenario: 'uac-message', remote: kamailio.address(), calls: 1, service: 'carol', auth: { username: 'alice', password: 'secret' }, vars: { caller: 'alice', text: 'via kamailio' } });
    const [s, r] = await Promise.all([sender.waitExit(5000), recipient.waitExit(5000)]);
    assert.equal(s.code, 0, sender.errors());
    assert.equal(r.code, 0, recipient.errors());
    assert.deepEqual(summary(sender.messages()), ['> MESSAGE', '< 407', '> MESSAGE', '< 200']);
    assert.ok(recipient.received()[0]?.text.endsWith('via kamailio'));
  });

  it('registers a SIP-over-WebSocket client (RFC 7118) with digest and records its connection', async () => {
    const ws = new WebSocket(kamailio.wsUrl(), 'sip');
    try {
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      assert.equal(ws.protocol, 'sip');
      const register = (cseq: number, authorization?: string): Promise<string> => {
        const reply = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
        ws.send(
          `REGISTER sip:${kamailio.address()} SIP/2.0\r\n` +
            `Via: SIP/2.0/WS abc.invalid;branch=z9hG4bK${randomBytes(6).toString('hex')}\r\n` +
            'Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=ws1\r\nTo: <sip:alice@127.0.0.1>\r\n' +
            `Call-ID: ws-${randomBytes(4).toString('hex')}-harness\r\nCSeq: ${cseq} REGISTER\r\n` +
            'Contact: <sip:alice@abc.invalid;transport=ws>\r\nExpires: 60\r\n' +
            (authorization ? `Authorization: ${authorization}\r\n` : '') +
            'Content-Length: 0\r\n\r\n',
        );
        return reply;
      };
      const challenge = await register(1);
      assert.match(challenge, /^SIP\/2\.0 401 /);
      const realm = /realm="([^"]+)"/.exec(challenge)?.[1] ?? '';
      const nonce = /nonce="([^"]+)"/.exec(challenge)?.[1] ?? '';
      const uri = `sip:${kamailio.address()}`;
      const cnonce = randomBytes(4).toString('hex');
      const response = md5(`${md5(`alice:${realm}:secret`)}:${nonce}:00000001:${cnonce}:auth:${md5(`REGISTER:${uri}`)}`);
      const ok = await register(
        2,
        `Digest username="alice", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", qop=auth, nc=00000001, cnonce="${cnonce}", algorithm=MD5`,
      );
      assert.match(ok, /^SIP\/2\.0 200 /);
      const wsContact = (await kamailio.locations('alice')).find((c) => c.uri.includes('abc.invalid'));
      assert.ok(wsContact, 'the WebSocket contact is registered');
      assert.match(wsContact.received ?? '', /^sip:127\.0\.0\.1:\d+;transport=ws$/);
      assert.equal(wsContact.socket, `tcp:${kamailio.address('ws')}`);
    } finally {
      ws.close();
    }
  });

  it('answers over TLS with its self-signed certificate', async () => {
    const socket = tlsConnect({ host: '127.0.0.1', port: kamailio.port('tls'), ca: kamailio.certificate?.cert, servername: 'localhost' });
    try {
      await new Promise((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      const reply = new Promise<string>((resolve) => socket.once('data', (d) => resolve(d.toString())));
      socket.write(
        `OPTIONS sip:${kamailio.address('tls')};transport=tls SIP/2.0\r\n` +
          `Via: SIP/2.0/TLS 127.0.0.1:${socket.localPort};branch=z9hG4bK${randomBytes(6).toString('hex')}\r\n` +
          'Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=t1\r\nTo: <sip:127.0.0.1>\r\n' +
          'Call-ID: tls-harness\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n',
      );
      assert.match(await reply, /^SIP\/2\.0 200 /);
    } finally {
      socket.destroy();
    }
  });

  it('logs every request to its log file and runs kamcmd', async () => {
    assert.match(kamailio.log(), /REGISTER sip:127\.0\.0\.1:\d+ from udp:127\.0\.0\.1:\d+/);
    assert.match(await kamailio.kamcmd('core.version'), /kamailio 5\./);
  });
});

it('leaves no SIPp or Kamailio process behind', () => {
  const left = descendants().filter((p) => p.comm === 'sipp' || p.comm === 'kamailio');
  assert.deepEqual(left, []);
});
