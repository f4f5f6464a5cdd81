/**
 * The door on real sockets (127.0.0.1, ephemeral port) in front of core stand-ins: the handshake
 * (subprotocol → dialect, 406 otherwise, as SylkServer), the frame-size limit (1009), the request
 * queue bound (1008), the isolation of connections from each other's misbehaviour, and the frames of
 * one turn of the event loop leaving in one write.
 */
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { SylkRtcDoor } from './door.ts';
import { FakeGateway } from './fake-core.test-support.ts';

let server: Server;
let door: SylkRtcDoor;
let gateway: FakeGateway;
let url: string;
const sockets: WebSocket[] = [];
/** The server's side of each upgraded socket, in order of arrival. */
const serverSockets: Socket[] = [];

before(async () => {
  gateway = new FakeGateway();
  door = new SylkRtcDoor(gateway, { maxPayloadBytes: 4096, maxPendingRequests: 8, pingIntervalMs: 0 });
  server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => {
    serverSockets.push(socket as Socket);
    door.handleUpgrade(req, socket, head);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/webrtcgateway/ws`;
});

after(async () => {
  for (const ws of sockets) ws.terminate();
  await door.close();
  await new Promise((resolve) => server.close(resolve));
});

interface Client {
  ws: WebSocket;
  frames: Array<Record<string, unknown>>;
  next(): Promise<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
}

function connect(protocols: string | string[]): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    sockets.push(ws);
    const frames: Array<Record<string, unknown>> = [];
    let read = 0;
    const waiters: Array<() => void> = [];
    ws.on('message', (data) => {
      frames.push(JSON.parse(String(data)));
      waiters.splice(0).forEach((w) => w());
    });
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: String(reason) })));
    const next = async () => {
      while (frames.length <= read) await new Promise<void>((r) => waiters.push(r));
      return frames[read++]!;
    };
    ws.on('open', () => resolve({ ws, frames, next, closed }));
    ws.on('error', reject);
  });
}

/** The raw HTTP answer to an upgrade request with these subprotocols. */
function handshakeStatus(protocol: string | undefined, origin?: string): Promise<number> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({
      hostname,
      port,
      path: pathname,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...(protocol ? { 'Sec-WebSocket-Protocol': protocol } : {}),
        ...(origin ? { Origin: origin } : {}),
      },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('handshake', () => {
  it('refuses a missing or foreign subprotocol with 406, as SylkServer', async () => {
    assert.equal(await handshakeStatus(undefined), 406);
    assert.equal(await handshakeStatus('sip'), 406);
    assert.equal(await handshakeStatus('sylkRTC-2'), 101);
  });

  it('picks sylkRTC-2 when offered, sylkRTC-1 otherwise; ready first in each dialect', async () => {
    const v2 = await connect(['sylkRTC-1', 'sylkRTC-2']);
    assert.equal(v2.ws.protocol, 'sylkRTC-2');
    assert.deepEqual(await v2.next(), { sylkrtc: 'ready-event' });
    const v1 = await connect('sylkRTC-1');
    assert.equal(v1.ws.protocol, 'sylkRTC-1');
    assert.deepEqual(await v1.next(), { sylkrtc: 'event', event: 'ready' });
    v1.ws.send(JSON.stringify({ sylkrtc: 'add_account', transaction: 'a', account: 'alice@example.com', password: 'x' }));
    assert.deepEqual(await v1.next(), { sylkrtc: 'ack', transaction: 'a' });
    v1.ws.close();
    v2.ws.close();
  });
});

describe('limits', () => {
  it('closes a connection sending an oversized frame with 1009; others keep working', async () => {
    const bystander = await connect('sylkRTC-2');
    await bystander.next();
    const big = await connect('sylkRTC-2');
    await big.next();
    big.ws.send(JSON.stringify({ sylkrtc: 'ping', transaction: 'x'.repeat(5000) }));
    assert.equal((await big.closed).code, 1009);
    bystander.ws.send(JSON.stringify({ sylkrtc: 'ping', transaction: 'p' }));
    assert.deepEqual(await bystander.next(), { sylkrtc: 'ack', transaction: 'p' });
    bystander.ws.close();
  });

  it('answers a request flood past the queue bound with an error and closes with 1008; others keep working', async () => {
    const bystander = await connect('sylkRTC-2');
    await bystander.next();
    const flooder = await connect('sylkRTC-2');
    await flooder.next();
    // One write, so the requests arrive together and wait behind each other.
    const burst = Array.from({ length: 20 }, (_, i) => JSON.stringify({ sylkrtc: 'ping', transaction: `f${i}` }));
    for (const frame of burst) flooder.ws.send(frame);
    const { code } = await flooder.closed;
    assert.equal(code, 1008);
    assert.ok(flooder.frames.some((f) => f.sylkrtc === 'error' && f.error === 'Too many pending requests (limit 8)'), JSON.stringify(flooder.frames));
    bystander.ws.send(JSON.stringify({ sylkrtc: 'ping', transaction: 'still' }));
    assert.deepEqual(await bystander.next(), { sylkrtc: 'ack', transaction: 'still' });
    bystander.ws.close();
  });

  it('answers invalid JSON without closing', async () => {
    const c = await connect('sylkRTC-2');
    await c.next();
    c.ws.send('{oops');
    c.ws.send(JSON.stringify({ sylkrtc: 'ping', transaction: 'p' }));
    assert.deepEqual(await c.next(), { sylkrtc: 'error', error: 'Invalid JSON message' });
    assert.deepEqual(await c.next(), { sylkrtc: 'ack', transaction: 'p' });
    c.ws.close();
  });

  it('closes the core connection when the socket goes', async () => {
    const before = gateway.connections.length;
    const c = await connect('sylkRTC-2');
    await c.next();
    const conn = gateway.connections[before]!;
    c.ws.terminate();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(conn.closed, true);
  });
});

describe('writes', () => {
  /** Counts the writes the server's socket hands to the kernel (one `_write` or `_writev` each). */
  function countWrites(socket: Socket): { count: number } {
    const counter = { count: 0 };
    const s = socket as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
    const write = s._write.bind(s);
    const writev = s._writev.bind(s);
    s._write = (...a) => {
      counter.count++;
      write(...a);
    };
    s._writev = (...a) => {
      counter.count++;
      writev(...a);
    };
    return counter;
  }

  it('sends the answers to requests that arrived together in one write, in order', async () => {
    const c = await connect('sylkRTC-2');
    await c.next();
    const writes = countWrites(serverSockets.at(-1)!);
    // The three requests leave the client in one segment, so the door reads them in one turn.
    const raw = (c.ws as unknown as { _socket: Socket })._socket;
    raw.cork();
    for (const t of ['a', 'b', 'c']) c.ws.send(JSON.stringify({ sylkrtc: 'ping', transaction: t }));
    raw.uncork();
    assert.deepEqual([await c.next(), await c.next(), await c.next()], ['a', 'b', 'c'].map((t) => ({ sylkrtc: 'ack', transaction: t })));
    assert.equal(writes.count, 1);
    c.ws.send(JSON.stringify({ sylkrtc: 'ping', transaction: 'd' }));
    assert.deepEqual(await c.next(), { sylkrtc: 'ack', transaction: 'd' });
    assert.equal(writes.count, 2);
    c.ws.close();
  });
});

describe('keep-alive', () => {
  it('pings every socket once per interval, spread over it, and drops the one that stops answering', async () => {
    const pinging = new SylkRtcDoor(gateway, { pingIntervalMs: 300 });
    const srv = createServer((_req, res) => res.writeHead(404).end());
    srv.on('upgrade', (req, socket, head) => pinging.handleUpgrade(req, socket, head));
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const at = `ws://127.0.0.1:${(srv.address() as AddressInfo).port}/webrtcgateway/ws`;
    const open = (autoPong: boolean) =>
      new Promise<{ ws: WebSocket; pings: number[]; closed: Promise<number> }>((resolve, reject) => {
        const ws = new WebSocket(at, 'sylkRTC-2', { autoPong });
        sockets.push(ws);
        const pings: number[] = [];
        ws.on('ping', () => pings.push(Date.now()));
        const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
        ws.on('open', () => resolve({ ws, pings, closed }));
        ws.on('error', reject);
      });
    try {
      const clients = await Promise.all(Array.from({ length: 6 }, () => open(true)));
      const silent = await open(false);
      const started = Date.now();
      // The silent one is pinged once, misses the pong, and is cut off at the next sweep.
      assert.equal(await silent.closed, 1006);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 450 && elapsed < 1500, `dropped after ${elapsed} ms`);
      assert.equal(silent.pings.length, 1);
      await new Promise((r) => setTimeout(r, 400));
      for (const c of clients) {
        assert.equal(c.ws.readyState, WebSocket.OPEN);
        assert.ok(c.pings.length >= 2, `pinged ${c.pings.length} times`);
        // Once per interval: consecutive pings of one socket are about 300 ms apart.
        for (let i = 1; i < c.pings.length; i++) assert.ok(c.pings[i]! - c.pings[i - 1]! >= 150, JSON.stringify(c.pings));
      }
      // Spread: the six sockets were not all pinged in the same slice.
      assert.ok(new Set(clients.map((c) => Math.floor((c.pings[0]! - started) / 50))).size > 1, 'all pinged at once');
    } finally {
      await pinging.close();
      await new Promise((resolve) => srv.close(resolve));
    }
  });
});

describe('close', () => {
  it('closes every socket with 1001 and refuses new upgrades with 503', async () => {
    const c = await connect('sylkRTC-2');
    await c.next();
    const conn = gateway.connections.at(-1)!;
    await door.close();
    assert.equal((await c.closed).code, 1001);
    assert.equal(conn.closed, true);
    assert.equal(await handshakeStatus('sylkRTC-2'), 503);
    await door.close();
  });
});
