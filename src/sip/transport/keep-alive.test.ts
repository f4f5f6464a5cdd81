import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { delay, optionsRequest, waitFor } from './test-support.ts';
import { TransportSet } from './transport-set.ts';

/** A raw TCP server recording the bytes of every connection. */
async function rawServer(): Promise<{ server: net.Server; port: number; bytes: () => string; close: () => Promise<void> }> {
  const chunks: Buffer[] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on('data', (c) => chunks.push(c));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    port: (server.address() as net.AddressInfo).port,
    bytes: () => Buffer.concat(chunks).toString('latin1'),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('keep-alives (RFC 5626 §4.4.1)', () => {
  it('answers a CRLFCRLF ping with a CRLF pong', async () => {
    const set = new TransportSet({ listen: [{ protocol: 'tcp', host: '127.0.0.1', port: 0 }] });
    await set.start();
    const socket = net.connect(set.local('tcp')!.port, '127.0.0.1');
    try {
      const got: Buffer[] = [];
      socket.on('data', (c) => got.push(c));
      await new Promise<void>((r) => socket.once('connect', r));
      socket.write('\r\n\r\n');
      await waitFor(() => Buffer.concat(got).length >= 2, 2000, 'a pong');
      // A second ping later on the same connection: a second pong, nothing else.
      await delay(10);
      socket.write('\r\n\r\n');
      await waitFor(() => Buffer.concat(got).length >= 4, 2000, 'a second pong');
      await delay(20);
      assert.equal(Buffer.concat(got).toString('latin1'), '\r\n\r\n');
    } finally {
      socket.destroy();
      await set.close();
    }
  });

  it('sends CRLFCRLF pings on outbound TCP connections every keepAliveIntervalMs', async () => {
    const peer = await rawServer();
    const set = new TransportSet({ listen: [], keepAliveIntervalMs: 30 });
    try {
      await set.send(optionsRequest('tcp', '127.0.0.1:5060'), { protocol: 'tcp', host: '127.0.0.1', port: peer.port });
      await waitFor(() => peer.bytes().endsWith('\r\n\r\n\r\n\r\n'), 2000, 'two pings after the message');
      const afterMessage = peer.bytes().slice(peer.bytes().indexOf('Content-Length: 0\r\n\r\n') + 21);
      assert.match(afterMessage, /^(\r\n\r\n)+$/);
    } finally {
      await set.close();
      await peer.close();
    }
  });

  it('sends WebSocket pings on outbound WS connections', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => 'sip' });
    await new Promise<void>((r) => wss.once('listening', r));
    let pings = 0;
    wss.on('connection', (ws) => ws.on('ping', () => pings++));
    const set = new TransportSet({ listen: [], keepAliveIntervalMs: 30 });
    try {
      const port = (wss.address() as net.AddressInfo).port;
      await set.send(optionsRequest('ws', 'client.invalid'), { protocol: 'ws', host: '127.0.0.1', port });
      await waitFor(() => pings >= 2, 2000, 'two pings');
    } finally {
      await set.close();
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => wss.close(r));
    }
  });

  it('sends no pings on connections peers opened to us', async () => {
    const set = new TransportSet({ listen: [{ protocol: 'tcp', host: '127.0.0.1', port: 0 }], keepAliveIntervalMs: 20 });
    await set.start();
    const socket = net.connect(set.local('tcp')!.port, '127.0.0.1');
    try {
      const got: Buffer[] = [];
      socket.on('data', (c) => got.push(c));
      await new Promise<void>((r) => socket.once('connect', r));
      await delay(80);
      assert.equal(Buffer.concat(got).length, 0);
    } finally {
      socket.destroy();
      await set.close();
    }
  });
});

describe('idle connections', () => {
  it('are closed after idleTimeoutMs without traffic, while used ones stay open', async () => {
    const set = new TransportSet({ listen: [{ protocol: 'tcp', host: '127.0.0.1', port: 0 }], idleTimeoutMs: 100 });
    await set.start();
    const port = set.local('tcp')!.port;
    const idle = net.connect(port, '127.0.0.1');
    const busy = net.connect(port, '127.0.0.1');
    let idleClosedAt = 0;
    let busyClosed = false;
    const opened = Date.now();
    idle.on('close', () => (idleClosedAt = Date.now()));
    busy.on('close', () => (busyClosed = true));
    busy.on('data', () => {});
    const pinger = setInterval(() => busy.write('\r\n\r\n'), 30);
    try {
      await waitFor(() => idleClosedAt > 0, 2000, 'the idle connection to close');
      assert.ok(idleClosedAt - opened >= 90, `closed after ${idleClosedAt - opened} ms`);
      await delay(150);
      assert.equal(busyClosed, false, 'a connection in use stays open');
      assert.equal(set.stats().open.length, 1);
    } finally {
      clearInterval(pinger);
      idle.destroy();
      busy.destroy();
      await set.close();
    }
  });
});
