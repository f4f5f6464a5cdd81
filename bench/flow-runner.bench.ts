/**
 * Flow runner throughput and footprint, as ratios against a baseline measured in the same run.
 *
 * 1. Requests per second the runner sustains against a trivial local node:http server (in a child
 *    process), while rendering a template with fillers and extracting a JSON value from each
 *    answer, divided by what `wrk -t1` (Debian package `wrk`) gets from the same server with the
 *    same number of connections. Target: at least 0.5. After a short warm-up of the runner (not
 *    counted), the two take turns in short runs for several rounds, so each pair sees the same
 *    machine (other work on it comes and goes within seconds); the ratio reported is the median
 *    of the rounds' ratios, the rates the medians of theirs, and each round's figures are listed.
 * 2. Memory per emulated client with 10,000 clients idle in a flow (each holding a WebSocket and
 *    awaiting a frame with a long timeout). Target: 10,000 clients in under 1 GiB.
 *
 * Run: node --expose-gc --import tsx bench/flow-runner.bench.ts   (prints one JSON line)
 * Env: BENCH_SECONDS per run (default 3), BENCH_ROUNDS (5), BENCH_CONNECTIONS (32),
 * BENCH_IDLE_CLIENTS (10000).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { parseFlow, runFlow } from '../src/flow/index.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const IDLE = Number(process.env.BENCH_IDLE_CLIENTS ?? 10_000);

const SERVER = `
const http = require('node:http');
const { WebSocketServer } = require(${JSON.stringify(new URL('../node_modules/ws/index.js', import.meta.url).pathname)});
const body = JSON.stringify({ session: { id: 'abc123', status: 'Connected' } });
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }); res.end(body); });
});
server.keepAliveTimeout = 60000;
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, () => {}));
server.listen(0, '127.0.0.1', () => process.send(server.address().port));
`;

async function startServer(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [port] = (await once(child, 'message')) as [number];
  return { child, port };
}

function runWrk(port: number): number | null {
  const which = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (which.error) return null;
  const r = spawnSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, `http://127.0.0.1:${port}/v1/bench`], { encoding: 'utf8' });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  return m ? Number(m[1]) : null;
}

async function runRunner(port: number, seconds = SECONDS): Promise<{ rps: number; failures: number }> {
  const flow = parseFlow(
    [
      'name: bench',
      'options: { timeout: 5s }',
      'vars: { user: bench }',
      'steps:',
      '  - loop: forever',
      '    steps:',
      '      - id: request',
      '        template: |',
      '          POST /v1/{user:url}/sessions/{client-number} HTTP/1.1',
      '          Host: {target-host}',
      '          Content-Type: application/json',
      '          Content-Length: {content-length}',
      '          ---body---',
      '          {"client":"{client-number:json}","seq":"{seq}"}',
      '        expect: { status: 200 }',
      '        extract: { session-id: /session/id }',
    ].join('\n'),
    { file: 'bench.yaml' },
  );
  const r = await runFlow({ flow, target: `http://127.0.0.1:${port}`, clients: CONNECTIONS, rate: 10_000, concurrency: CONNECTIONS, durationMs: seconds * 1000 });
  return { rps: r.summary.steps.successes / (r.durationMs / 1000), failures: r.summary.steps.failures };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function runIdle(port: number): Promise<{ clients: number; rssPerClientKiB: number; heapPerClientKiB: number; rssMiB: number }> {
  const flow = parseFlow(
    ['name: idle', 'steps:', '  - ws-open: /idle', '  - { id: wait, await: ws, match: { json: /never }, timeout: 10m }'].join('\n'),
    { file: 'idle.yaml' },
  );
  gc();
  const before = process.memoryUsage();
  let sample = before;
  const startMs = Math.ceil((IDLE / 4000) * 1000);
  const done = runFlow({ flow, target: `http://127.0.0.1:${port}`, clients: IDLE, rate: 4000, durationMs: startMs + 4000 });
  // Sample once every client is idle in its await.
  await new Promise((r) => setTimeout(r, startMs + 3000));
  gc();
  sample = process.memoryUsage();
  const r = await done;
  const n = r.started;
  return {
    clients: n,
    rssPerClientKiB: Math.round(((sample.rss - before.rss) / n / 1024) * 10) / 10,
    heapPerClientKiB: Math.round(((sample.heapUsed - before.heapUsed) / n / 1024) * 10) / 10,
    rssMiB: Math.round(sample.rss / 1048576),
  };
}

const { child, port } = await startServer();
try {
  // Idle footprint first, from a clean baseline; then wrk and the runner in turns, back to back.
  const idle = await runIdle(port);
  gc();
  const wrkRounds: number[] = [];
  const runnerRounds: number[] = [];
  const ratios: number[] = [];
  let failures = 0;
  // Compiled code and connections ready before anything is counted.
  await runRunner(port, 1);
  for (let i = 0; i < ROUNDS; i++) {
    const wrkRps = runWrk(port);
    const runner = await runRunner(port);
    failures += runner.failures;
    runnerRounds.push(Math.round(runner.rps));
    if (wrkRps !== null) {
      wrkRounds.push(Math.round(wrkRps));
      ratios.push(Math.round((runner.rps / wrkRps) * 100) / 100);
    }
  }
  const result = {
    bench: 'flow-runner',
    seconds: SECONDS,
    rounds: ROUNDS,
    connections: CONNECTIONS,
    wrkRps: wrkRounds.length ? Math.round(median(wrkRounds)) : null,
    runnerRps: Math.round(median(runnerRounds)),
    runnerFailures: failures,
    ratioToWrk: ratios.length ? median(ratios) : null,
    wrkRpsRounds: wrkRounds,
    runnerRpsRounds: runnerRounds,
    ratioRounds: ratios,
    idleClients: idle.clients,
    idleRssPerClientKiB: idle.rssPerClientKiB,
    idleHeapPerClientKiB: idle.heapPerClientKiB,
    idleRssMiB: idle.rssMiB,
    idleUnder1GiB: idle.rssMiB < 1024,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  child.kill();
}
