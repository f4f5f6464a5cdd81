import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { HttpClientError, HttpPool, type Origin } from './http-client.ts';

/**
 * The raw HTTP/1.1 client against a TCP server that answers by hand, so every byte, delay and close
 * is the test's choice. Each request line names what the server does: `/ok`, `/late/<ms>`,
 * `/silent`, `/split`, `/continue`, `/drop-second` (closes a reused connection without answering).
 */
let server: Server;
let origin: Origin;
const sockets = new Set<Socket>();
const timers = new Set<NodeJS.Timeout>();
/** What crossed the wire towards the server, per connection. */
const received: string[] = [];
let connections = 0;

const OK = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"a":"one"}';

function later(ms: number, fn: () => void): void {
  const t = setTimeout(() => {
    timers.delete(t);
    fn();
  }, ms);
  timers.add(t);
}

before(async () => {
  server = createServer((s) => {
    connections++;
    const index = received.push('') - 1;
    let requests = 0;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('data', (chunk) => {
      received[index] += chunk.toString('latin1');
      requests++;
      const path = /^[A-Z]+ (\S+)/.exec(chunk.toString('latin1'))?.[1] ?? '';
      if (path === '/ok') s.write(OK);
      else if (path.startsWith('/late/')) later(Number(path.slice(6)), () => s.write(OK));
      else if (path === '/split') {
        s.write(OK.slice(0, 20));
        later(20, () => s.write(OK.slice(20, 70)));
        later(40, () => s.write(OK.slice(70)));
      } else if (path === '/continue') s.write(`HTTP/1.1 100 Continue\r\n\r\n${OK}`);
      else if (path === '/drop-second') {
        if (requests === 1) s.write(OK);
        else s.destroy();
      }
      // '/silent': never answers.
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  origin = { host: '127.0.0.1', port: (server.address() as AddressInfo).port, tls: false };
});

let pool: HttpPool;
afterEach(() => {
  pool?.close();
  for (const t of timers) clearTimeout(t);
  timers.clear();
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

const get = (path: string): Buffer => Buffer.from(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`, 'latin1');

describe('HTTP/1.1 client', () => {
  it('sends the bytes as given and reuses one kept-alive connection (RFC 9112 §9.3)', async () => {
    pool = new HttpPool();
    const before = connections;
    const first = received.length;
    for (let i = 0; i < 3; i++) {
      const res = await pool.request(origin, get('/ok'), { method: 'GET', timeoutMs: 2000 });
      assert.equal(res.status, 200);
      assert.equal(res.reason, 'OK');
      assert.equal(res.body.toString(), '{"a":"one"}');
      assert.deepEqual(res.headers[0], ['Content-Type', 'application/json']);
    }
    assert.equal(connections - before, 1);
    assert.equal(received[first], get('/ok').toString('latin1').repeat(3));
  });

  it('assembles a response that arrives in pieces and skips a 100 Continue (RFC 9110 §15.2)', async () => {
    pool = new HttpPool();
    const split = await pool.request(origin, get('/split'), { method: 'GET', timeoutMs: 2000 });
    assert.equal(split.body.toString(), '{"a":"one"}');
    const cont = await pool.request(origin, get('/continue'), { method: 'GET', timeoutMs: 2000 });
    assert.equal(cont.status, 200);
    assert.equal(cont.body.toString(), '{"a":"one"}');
  });

  it('times a request out on its own deadline, even after a longer one on the same connection', async () => {
    pool = new HttpPool();
    await pool.request(origin, get('/ok'), { method: 'GET', timeoutMs: 60_000 });
    const t0 = Date.now();
    await assert.rejects(pool.request(origin, get('/silent'), { method: 'GET', timeoutMs: 100 }), (e: HttpClientError) => {
      assert.equal(e.code, 'FLOW_ERR_HTTP_TIMEOUT');
      assert.match(e.message, /within 100 ms/);
      return true;
    });
    const took = Date.now() - t0;
    assert.ok(took >= 95 && took < 1000, `took ${took} ms`);
  });

  it('does not time a request out on the deadline of the one before it', async () => {
    pool = new HttpPool();
    const before = connections;
    await pool.request(origin, get('/ok'), { method: 'GET', timeoutMs: 200 });
    await new Promise((r) => later(120, () => r(undefined)));
    // The first request's deadline passes while this one waits; its own is still 200 ms away.
    const res = await pool.request(origin, get('/late/150'), { method: 'GET', timeoutMs: 300 });
    assert.equal(res.status, 200);
    assert.equal(connections - before, 1);
  });

  it('waits out a deadline longer than one timer can hold', async () => {
    pool = new HttpPool();
    const res = await pool.request(origin, get('/late/30'), { method: 'GET', timeoutMs: 2 ** 33 });
    assert.equal(res.status, 200);
  });

  it('retries once on a fresh connection when the server closed a kept-alive one', async () => {
    pool = new HttpPool();
    const before = connections;
    await pool.request(origin, get('/drop-second'), { method: 'GET', timeoutMs: 2000 });
    const res = await pool.request(origin, get('/drop-second'), { method: 'GET', timeoutMs: 2000 });
    assert.equal(res.status, 200);
    assert.equal(connections - before, 2);
  });

  it('aborts requests in flight and connections still connecting when the pool closes', async () => {
    pool = new HttpPool();
    const inFlight = pool.request(origin, get('/silent'), { method: 'GET', timeoutMs: 60_000 });
    // TLS towards a plain TCP server that never answers: the handshake never completes.
    const connecting = pool.request({ ...origin, tls: true }, get('/ok'), { method: 'GET', timeoutMs: 60_000 });
    await new Promise((r) => later(50, () => r(undefined)));
    const t0 = Date.now();
    pool.close();
    for (const p of [inFlight, connecting]) {
      await assert.rejects(p, (e: HttpClientError) => e.code === 'FLOW_ERR_HTTP_ABORTED');
    }
    assert.ok(Date.now() - t0 < 500);
    await assert.rejects(pool.request(origin, get('/ok'), { method: 'GET', timeoutMs: 100 }), /pool closed/);
  });
});
