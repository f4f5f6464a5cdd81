import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { parseFlow, runFlow } from '../../src/flow/index.ts';

/**
 * A server that misbehaves in every way a load test meets: errors, silence, garbage, a connection
 * cut mid-response, a dropped WebSocket. Each failure must be counted under its reason, the runner
 * must not crash, and the run must end on time.
 */
let server: Server;
let base: string;
let closedPort: number;
const sockets = new Set<Socket>();
const timers = new Set<NodeJS.Timeout>();

before(async () => {
  server = createServer((req, res) => {
    switch (req.url) {
      case '/error':
        res.writeHead(503, { 'Content-Length': '0' });
        res.end();
        return;
      case '/slow':
        return; // never answers
      case '/garbage':
        req.socket.end('NOT HTTP AT ALL\r\n\r\n');
        return;
      case '/half':
        req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789');
        req.socket.destroy();
        return;
      default: {
        const body = JSON.stringify({ a: { b: 'c' } });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      }
    }
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (req.url === '/ws-drop') {
        const t = setTimeout(() => ws.terminate(), 30);
        timers.add(t);
      } else ws.send(JSON.stringify({ x: 1 }));
    });
  });
  server.on('close', () => wss.close());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A port nobody listens on: bind, read the number, close.
  const tmp = createServer();
  await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', () => r()));
  closedPort = (tmp.address() as AddressInfo).port;
  await new Promise<void>((r) => tmp.close(() => r()));
});

after(async () => {
  for (const t of timers) clearTimeout(t);
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

const get = (path: string): string => `"GET ${path} HTTP/1.1\\n"`;

describe('a run against a hostile server', () => {
  it('counts every failure under its reason and never crashes', async () => {
    const flow = parseFlow(
      [
        'name: hostile',
        // Generous for every step but the one meant to time out, so a busy machine cannot turn
        // another failure into a timeout.
        'options: { timeout: 3s }',
        'steps:',
        `  - { id: error, template: ${get('/error')}, expect: { status: 200 }, on-failure: continue }`,
        `  - { id: slow, template: ${get('/slow')}, timeout: 300ms, expect: { status: 200 }, on-failure: continue }`,
        `  - { id: garbage, template: ${get('/garbage')}, on-failure: continue }`,
        `  - { id: half, template: ${get('/half')}, on-failure: continue }`,
        `  - { id: refused, template: ${get('/ok')}, target: "http://127.0.0.1:${closedPort}", on-failure: continue }`,
        `  - { id: extract, template: ${get('/ok')}, extract: { x: /a/nope }, on-failure: continue }`,
        `  - { id: header, template: ${get('/ok')}, expect: { headers: { X-Nope: { exists: true } } }, on-failure: continue }`,
        `  - { id: body, template: ${get('/ok')}, expect: { body: { json: /a/b, equals: d } }, on-failure: continue }`,
        `  - { id: template, template: ${get('/{nobody}')}, on-failure: continue }`,
        '  - { id: raw, bytes: "BREW /pot HTCPCP/1.0\\r\\n\\r\\n", expect: { status: 400 }, on-failure: continue }',
        '  - { id: ws-open, ws-open: /ws-chatty }',
        '  - { id: unexpected, await: ws, match: { json: /y }, unexpected: fail, on-failure: continue }',
        '  - { id: ws-drop, ws-open: /ws-drop, name: drop }',
        '  - { id: dropped, await: drop, match: { json: /y }, timeout: 2s, on-failure: goto last }',
        '  - { id: never, pause: 1ms }',
        `  - { id: last, template: ${get('/ok')}, extract: { b: /a/b } }`,
      ].join('\n'),
      { file: 'hostile.yaml' },
    );
    const t0 = Date.now();
    const r = await runFlow({ flow, target: base, clients: 3, rate: 100, durationMs: 8_000 });
    const by = r.summary.steps.failuresByReason;
    const step = (id: string) => r.summary.byStep.find((s) => s.step === id)!;
    assert.equal(by['status-mismatch'], 3);
    assert.equal(by['timeout'], 3);
    assert.equal(by['extract-miss'], 3);
    assert.equal(by['header-mismatch'], 3);
    assert.equal(by['body-mismatch'], 3);
    assert.equal(by['template-error'], 3);
    assert.equal(by['unexpected-message'], 3);
    // garbage, half, refused, dropped
    assert.equal(by['transport-error'], 12);
    for (const id of ['garbage', 'half', 'refused', 'dropped']) assert.equal(step(id).failuresByReason['transport-error'], 3, id);
    assert.equal(step('raw').successes, 3, 'the server answers 400 to raw garbage bytes');
    assert.equal(step('last').successes, 3, 'on-failure goto reached the last step');
    assert.equal(r.summary.byStep.find((s) => s.step === 'never'), undefined);
    assert.equal(r.completed, 3);
    assert.equal(r.failed, 3);
    assert.equal(r.summary.verdict, 'fail');
    assert.ok(Date.now() - t0 < 5_000, 'ended long before the duration');
  });

  it('ends on time with a complete report when the server never answers', async () => {
    const flow = parseFlow(`name: silent\nsteps:\n  - { id: wait, template: ${get('/slow')}, timeout: 60s }\n`, { file: 'silent.yaml' });
    const t0 = Date.now();
    const r = await runFlow({ flow, target: base, clients: 50, rate: 1000, durationMs: 600 });
    const took = Date.now() - t0;
    assert.ok(took >= 550 && took < 3_000, `took ${took} ms`);
    assert.equal(r.stoppedBy, 'duration');
    assert.equal(r.started, 50);
    assert.equal(r.incomplete, 50);
    assert.equal(r.summary.clients.active, 0);
    assert.equal(r.summary.steps.attempts, 0);
  });

  it('times out an await on a silent WebSocket and still ends', async () => {
    const flow = parseFlow('name: ws-silent\nsteps:\n  - ws-open: /ws-chatty\n  - { id: nothing, await: ws, match: { json: /never }, timeout: 200ms }\n', { file: 'w.yaml' });
    const r = await runFlow({ flow, target: base, clients: 2, rate: 100, durationMs: 5_000 });
    assert.equal(r.summary.byStep.find((s) => s.step === 'nothing')!.failuresByReason['timeout'], 2);
  });

  it('refuses a bad configuration before sending anything', async () => {
    const flow = parseFlow(`name: c\nsteps:\n  - template: ${get('/ok')}\n`, { file: 'c.yaml' });
    await assert.rejects(runFlow({ flow, target: 'http://[bad', clients: 1 }), /bad target URL/);
    await assert.rejects(runFlow({ flow, target: base, clients: 1, rate: 0 }), /rate must be positive/);
  });
});
