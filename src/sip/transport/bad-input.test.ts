import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { SipMessage } from '../message/index.ts';
import { delay, recordingLogger, waitFor } from './test-support.ts';
import { TransportSet } from './transport-set.ts';

/** A raw UDP peer that records every datagram it receives. */
async function udpPeer(): Promise<{ socket: dgram.Socket; port: number; got: Buffer[] }> {
  const socket = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  socket.on('message', (m) => got.push(m));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { socket, port: socket.address().port, got };
}

/** A raw TCP client that records what comes back and whether the server closed. */
async function tcpPeer(port: number): Promise<{ socket: net.Socket; data: () => string; ended: () => boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  let ended = false;
  socket.on('data', (c) => chunks.push(c));
  socket.on('close', () => (ended = true));
  socket.on('error', () => {});
  await new Promise<void>((r) => socket.once('connect', r));
  return { socket, data: () => Buffer.concat(chunks).toString('latin1'), ended: () => ended };
}

function request(opts: { via: string; contentLength?: number | null; body?: string; version?: string; method?: string }): string {
  const body = opts.body ?? '';
  const cl = opts.contentLength === null ? '' : `Content-Length: ${opts.contentLength ?? Buffer.byteLength(body)}\r\n`;
  const method = opts.method ?? 'OPTIONS';
  return (
    `${method} sip:bob@example.com ${opts.version ?? 'SIP/2.0'}\r\n` +
    `Via: ${opts.via}\r\n` +
    'From: <sip:alice@example.com>;tag=a1\r\n' +
    'To: <sip:bob@example.com>\r\n' +
    'Call-ID: bad-input-1\r\n' +
    `CSeq: 1 ${method}\r\n` +
    'Max-Forwards: 70\r\n' +
    cl +
    '\r\n' +
    body
  );
}

function statusLine(text: string): string {
  return text.split('\r\n')[0];
}

describe('bad input', () => {
  const logger = recordingLogger();
  const set = new TransportSet({
    listen: [
      { protocol: 'udp', host: '127.0.0.1', port: 0 },
      { protocol: 'tcp', host: '127.0.0.1', port: 0 },
      { protocol: 'ws', host: '127.0.0.1', port: 0 },
    ],
    logger,
    maxMessageSize: 2000,
  });
  const received: SipMessage[] = [];
  set.onMessage = (m) => received.push(m);
  let udpPort = 0;
  let tcpPort = 0;

  before(async () => {
    await set.start();
    udpPort = set.local('udp')!.port;
    tcpPort = set.local('tcp')!.port;
  });
  after(() => set.close());

  describe('UDP', () => {
    it('answers a request whose Content-Length promises more than the datagram holds with 400', async () => {
      const peer = await udpPeer();
      try {
        const warnsBefore = logger.warns().length;
        const text = request({ via: `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKbad1;rport`, contentLength: 50, body: 'short' });
        peer.socket.send(text, udpPort, '127.0.0.1');
        await waitFor(() => peer.got.length === 1);
        const reply = peer.got[0].toString('latin1');
        assert.equal(statusLine(reply), 'SIP/2.0 400 Bad Request');
        assert.match(reply, new RegExp(`\r\nVia: SIP/2\\.0/UDP 127\\.0\\.0\\.1:${peer.port};branch=z9hG4bKbad1;rport=${peer.port};received=127\\.0\\.0\\.1\r\n`));
        assert.match(reply, /\r\nTo: <sip:bob@example\.com>;tag=[\w-]+\r\n/);
        assert.match(reply, /\r\nCall-ID: bad-input-1\r\n/);
        assert.match(reply, /\r\nCSeq: 1 OPTIONS\r\n/);
        assert.match(reply, /\r\nContent-Length: 0\r\n\r\n$/);
        const warns = logger.warns().slice(warnsBefore);
        assert.equal(warns.length, 1);
        assert.deepEqual(warns[0].obj, { peer: `udp:127.0.0.1:${peer.port}`, code: 'SIP_ERR_BAD_CONTENT_LENGTH' });
      } finally {
        peer.socket.close();
      }
    });

    it('answers an oversized request with 513 and a wrong version with 505', async () => {
      const peer = await udpPeer();
      try {
        const via = `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKbig`;
        peer.socket.send(request({ via, body: 'x'.repeat(3000) }), udpPort, '127.0.0.1');
        await waitFor(() => peer.got.length === 1);
        assert.equal(statusLine(peer.got[0].toString()), 'SIP/2.0 513 Message Too Large');
        peer.socket.send(request({ via, version: 'SIP/3.0' }), udpPort, '127.0.0.1');
        await waitFor(() => peer.got.length === 2);
        assert.equal(statusLine(peer.got[1].toString()), 'SIP/2.0 505 Version Not Supported');
      } finally {
        peer.socket.close();
      }
    });

    it('drops garbage, a truncated request and a broken ACK silently, warning once each', async () => {
      const peer = await udpPeer();
      try {
        const warnsBefore = logger.warns().length;
        const via = `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKack`;
        peer.socket.send(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]), udpPort, '127.0.0.1');
        peer.socket.send(request({ via }).slice(0, 30), udpPort, '127.0.0.1');
        peer.socket.send(request({ via, method: 'ACK', contentLength: 99 }), udpPort, '127.0.0.1');
        await waitFor(() => logger.warns().length === warnsBefore + 3);
        await delay(30);
        assert.equal(peer.got.length, 0, 'nothing is sent back');
        for (const w of logger.warns().slice(warnsBefore)) assert.equal(w.obj.peer, `udp:127.0.0.1:${peer.port}`);
      } finally {
        peer.socket.close();
      }
    });

    it('ignores CRLF keep-alives without a warning', async () => {
      const peer = await udpPeer();
      try {
        const warnsBefore = logger.warns().length;
        peer.socket.send('\r\n\r\n', udpPort, '127.0.0.1');
        await delay(30);
        assert.equal(logger.warns().length, warnsBefore);
        assert.equal(peer.got.length, 0);
      } finally {
        peer.socket.close();
      }
    });
  });

  describe('TCP', () => {
    it('answers a request without Content-Length with 400 and closes the connection', async () => {
      const peer = await tcpPeer(tcpPort);
      const warnsBefore = logger.warns().length;
      peer.socket.write(request({ via: 'SIP/2.0/TCP client.invalid;branch=z9hG4bKnocl', contentLength: null }));
      await waitFor(() => peer.ended(), 2000, 'the server to close');
      const reply = peer.data();
      assert.equal(statusLine(reply), 'SIP/2.0 400 Bad Request');
      assert.match(reply, /\r\nVia: SIP\/2\.0\/TCP client\.invalid;branch=z9hG4bKnocl;received=127\.0\.0\.1\r\n/);
      const warns = logger.warns().slice(warnsBefore);
      assert.equal(warns.length, 1);
      assert.equal(warns[0].obj.code, 'SIP_ERR_MISSING_HEADER');
      assert.match(String(warns[0].obj.peer), /^tcp:127\.0\.0\.1:\d+$/);
    });

    it('answers the right message when framing fails after good ones, across chunk boundaries', async () => {
      const peer = await tcpPeer(tcpPort);
      const before = received.length;
      const big = request({ via: 'SIP/2.0/TCP client.invalid;branch=z9hG4bKbig1', body: 'y'.repeat(1500) });
      const small = request({ via: 'SIP/2.0/TCP client.invalid;branch=z9hG4bKsmall' });
      const bad = request({ via: 'SIP/2.0/TCP client.invalid;branch=z9hG4bKlost', contentLength: null }).replace(
        'bad-input-1',
        'the-bad-one',
      );
      const all = '\r\n\r\n' + big + small + '\n' + bad;
      // Cut so that one chunk ends inside the big message and another inside the bad one.
      const cuts = [700, big.length + 40, all.length - 30, all.length];
      let from = 0;
      for (const cut of cuts) {
        peer.socket.write(all.slice(from, cut));
        from = cut;
        await delay(5);
      }
      await waitFor(() => peer.ended(), 2000, 'the server to close');
      assert.equal(received.length, before + 2);
      const reply = peer.data().replace(/^(\r\n)+/, ''); // the pong for the leading ping
      assert.equal(statusLine(reply), 'SIP/2.0 400 Bad Request');
      assert.match(reply, /\r\nCall-ID: the-bad-one\r\n/);
      assert.match(reply, /branch=z9hG4bKlost/);
    });

    it('answers an oversized message with 513 before reading its body, and closes', async () => {
      const peer = await tcpPeer(tcpPort);
      peer.socket.write(request({ via: 'SIP/2.0/TCP client.invalid;branch=z9hG4bKbig', contentLength: 100_000 }));
      await waitFor(() => peer.ended(), 2000, 'the server to close');
      assert.equal(statusLine(peer.data()), 'SIP/2.0 513 Message Too Large');
    });

    it('answers a bad message whose framing is intact with 400 and keeps the connection', async () => {
      const peer = await tcpPeer(tcpPort);
      const good = request({ via: 'SIP/2.0/TCP client.invalid;branch=z9hG4bKgood' });
      // A CSeq method that differs from the request method: framed fine, rejected by the parser.
      const bad = good.replace('CSeq: 1 OPTIONS', 'CSeq: 1 INVITE').replace('z9hG4bKgood', 'z9hG4bKcseq');
      const before = received.length;
      peer.socket.write(bad + good);
      await waitFor(() => received.length === before + 1, 2000, 'the good message');
      await waitFor(() => peer.data().length > 0);
      assert.equal(statusLine(peer.data()), 'SIP/2.0 400 Bad Request');
      assert.equal(peer.ended(), false);
      peer.socket.destroy();
    });

    it('warns when a peer resets mid-message, and stays up for others', async () => {
      const peer = await tcpPeer(tcpPort);
      const warnsBefore = logger.warns().length;
      peer.socket.write(request({ via: 'SIP/2.0/TCP client.invalid;branch=z9hG4bKrst', body: 'x'.repeat(100) }).slice(0, -50));
      await delay(20);
      peer.socket.resetAndDestroy();
      await waitFor(() => logger.warns().length > warnsBefore, 2000, 'a warning');
      const w = logger.warns()[warnsBefore];
      assert.match(String(w.obj.peer), /^tcp:127\.0\.0\.1:\d+$/);
      assert.equal(w.obj.code, 'ECONNRESET');
      await delay(20);
      assert.equal(logger.warns().length, warnsBefore + 1, 'exactly one line');
    });

    it('warns once when a peer closes in the middle of a message', async () => {
      const peer = await tcpPeer(tcpPort);
      const warnsBefore = logger.warns().length;
      const before = received.length;
      peer.socket.end(request({ via: 'SIP/2.0/TCP client.invalid;branch=z9hG4bKfin', body: 'x'.repeat(100) }).slice(0, -10));
      await waitFor(() => peer.ended(), 2000, 'the connection to close');
      await waitFor(() => logger.warns().length > warnsBefore, 2000, 'a warning');
      assert.equal(logger.warns().length, warnsBefore + 1);
      assert.equal(logger.warns()[warnsBefore].obj.code, 'SIP_ERR_TRANSPORT_CLOSED');
      assert.equal(received.length, before, 'the truncated message is not handed up');
      assert.equal(peer.data(), '');
    });

    it('keeps serving a good peer while a bad peer sends garbage at the same time', async () => {
      const badPeer = await tcpPeer(tcpPort);
      const goodPeer = await tcpPeer(tcpPort);
      const badUdp = await udpPeer();
      try {
        const before = received.length;
        const goodMessages: string[] = [];
        for (let i = 0; i < 5; i++) {
          goodMessages.push(request({ via: `SIP/2.0/TCP client.invalid;branch=z9hG4bKok${i}`, body: `m${i}` }));
        }
        // Interleave: garbage from one TCP peer and a UDP peer, good messages split across writes from the other.
        badPeer.socket.write('GARBAGE GARBAGE\r\n\r\n');
        badUdp.socket.send('\x00\x01garbage', udpPort, '127.0.0.1');
        for (const m of goodMessages) {
          goodPeer.socket.write(m.slice(0, 40));
          await delay(2);
          goodPeer.socket.write(m.slice(40));
        }
        await waitFor(() => received.length === before + 5, 2000, 'the good peer’s five messages');
        assert.deepEqual(
          received.slice(before).map((m) => m.body.toString()),
          ['m0', 'm1', 'm2', 'm3', 'm4'],
        );
        await waitFor(() => badPeer.ended(), 2000, 'the bad peer to be disconnected');
        assert.equal(badPeer.data(), '', 'garbage without a request line gets no answer');
        assert.equal(goodPeer.ended(), false);
      } finally {
        badPeer.socket.destroy();
        goodPeer.socket.destroy();
        badUdp.socket.close();
      }
    });
  });

  describe('WebSocket', () => {
    it('answers a bad frame with 400 on the same connection and keeps it open', async () => {
      const port = set.local('ws')!.port;
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ['sip']);
      const frames: string[] = [];
      ws.on('message', (d) => frames.push(d.toString()));
      await new Promise<void>((r, j) => {
        ws.once('open', () => r());
        ws.once('error', j);
      });
      try {
        assert.equal(ws.protocol, 'sip');
        const before = received.length;
        ws.send(request({ via: 'SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKws1', contentLength: 500 }));
        await waitFor(() => frames.length === 1);
        assert.equal(statusLine(frames[0]), 'SIP/2.0 400 Bad Request');
        ws.send(request({ via: 'SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKws2' }));
        await waitFor(() => received.length === before + 1);
        assert.equal(ws.readyState, WebSocket.OPEN);
      } finally {
        ws.terminate();
      }
    });

    it('refuses an upgrade that does not offer the sip subprotocol (RFC 7118 §4.1)', async () => {
      const port = set.local('ws')!.port;
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ['chat']);
      const status = await new Promise<number>((resolve) => {
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('error', () => resolve(-1));
      });
      ws.terminate();
      assert.equal(status, 400);
    });
  });
});
