import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { copyFlow, listFlows, listMessages, LibraryError, lintLibraryTemplate, openFlow } from './library/index.ts';
import { compileProgram, FlowConfigError, FlowLoadError, parseDuration, parseFlow, parseRate, type Flow } from './model/index.ts';
import { serveFlow } from './responder/index.ts';
import { loadFlow } from './runner/load-flow.ts';
import { prepareFlow } from './runner/prepare.ts';
import { runFlow } from './runner/run-flow.ts';
import { TemplateError, type Diagnostic } from './template/index.ts';

/**
 * `portico flow …`: run a flow as many emulated clients, stand in for the server (network host),
 * and manage the flow and message library.
 */
export function registerFlowCommands(program: Command): void {
  const flow = program.command('flow').description('Flow tester: emulate clients or the network host from message templates');

  flow
    .command('run')
    .description('run FLOW (library name or file) as emulated clients against a target')
    .argument('<flow>', 'flow name (see `portico flow list`) or path to a .yaml file')
    .requiredOption('-t, --target <url>', 'base URL of the system under test, e.g. http://127.0.0.1:8080')
    .option('-c, --clients <n>', 'clients to start in total', '1')
    .option('-r, --rate <rate>', 'client starts per second (e.g. 20 or 20/s)', '10/s')
    .option('--ramp-up <duration>', 'grow the start rate linearly from 0 over this time', '0')
    .option('-d, --duration <duration>', 'hard stop (e.g. 60s); the run always ends by then')
    .option('-l, --concurrency <n>', 'most clients active at once')
    .option('--repeat', 'each client repeats the flow until the duration ends (needs --duration)')
    .option('--data <file.csv>', 'per-client data (a header row names the fillers; row i feeds client i)')
    .option('-D, --var <name=value>', 'set a run-scope filler (repeatable)', collect, [])
    .option('--timeout <duration>', 'default per-step timeout (replaces the flow\'s)')
    .option('--interval <duration>', 'reporting interval', '1s')
    .option('--csv <file>', 'periodic CSV, one row per interval')
    .option('--json <file>', 'final JSON summary')
    .option('--html <file>', 'HTML report with charts and a sample ladder diagram')
    .option('-q, --quiet', 'no progress line')
    .action(async (name: string, o: Record<string, unknown>) => {
      await guard(async () => {
        const f = loadFlow(name);
        const ac = new AbortController();
        const onSig = (): void => ac.abort();
        process.once('SIGINT', onSig);
        process.once('SIGTERM', onSig);
        try {
          const r = await runFlow({
            flow: f,
            target: String(o.target),
            clients: intOpt(o.clients, 'clients'),
            rate: parseRate(String(o.rate)),
            rampUpMs: parseDuration(String(o.rampUp)),
            durationMs: o.duration !== undefined ? parseDuration(String(o.duration)) : undefined,
            concurrency: o.concurrency !== undefined ? intOpt(o.concurrency, 'concurrency') : undefined,
            repeat: o.repeat === true,
            dataFile: o.data as string | undefined,
            vars: parseVars(o.var as string[]),
            timeoutMs: o.timeout !== undefined ? parseDuration(String(o.timeout)) : undefined,
            intervalMs: parseDuration(String(o.interval)),
            progress: o.quiet ? undefined : process.stderr,
            csvPath: o.csv as string | undefined,
            jsonPath: o.json as string | undefined,
            htmlPath: o.html as string | undefined,
            signal: ac.signal,
          });
          const s = r.summary;
          const reasons = s.failures.map((x) => `${x.reason}=${x.count}`).join(' ');
          process.stderr.write(
            `${f.name}: ${r.started} clients, ${r.succeeded} flows ok, ${r.failed} failed, ${r.incomplete} unfinished; ` +
              `${s.steps.attempts} steps, ${s.steps.failures} failed${reasons ? ` (${reasons})` : ''}; ` +
              `${(r.durationMs / 1000).toFixed(1)} s, stopped by ${r.stoppedBy}; verdict ${s.verdict}\n`,
          );
          process.exitCode = s.verdict === 'pass' ? 0 : 1;
        } finally {
          process.off('SIGINT', onSig);
          process.off('SIGTERM', onSig);
        }
      });
    });

  flow
    .command('serve')
    .description('answer the client side of FLOW from its response templates (network host emulation)')
    .argument('<flow>', 'flow name or path to a .yaml file')
    .option('-p, --port <port>', 'port to listen on (HTTP and WebSocket)', '8080')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('-D, --var <name=value>', 'set a filler for the answers (repeatable)', collect, [])
    .action(async (name: string, o: Record<string, unknown>) => {
      await guard(async () => {
        const f = loadFlow(name);
        const host = await serveFlow({
          flow: f,
          port: intOpt(o.port, 'port'),
          host: String(o.host),
          vars: parseVars(o.var as string[]),
          onUnmatched: (m, u) => process.stderr.write(`no route for ${m} ${u} (404)\n`),
        });
        process.stderr.write(`network host for ${f.name} on ${host.url} (WebSocket on the same port); Ctrl-C stops\n`);
        for (const r of host.routeList) process.stderr.write(`  ${r}\n`);
        await new Promise<void>((resolve) => {
          const stop = (): void => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await host.close();
        process.stderr.write(`served ${host.stats.requests} requests (${host.stats.unmatched} unmatched), ${host.stats.sockets} WebSockets, ${host.stats.notifications} notifications\n`);
      });
    });

  flow
    .command('list')
    .description('list the flows of the library (built-in ones are read-only)')
    .action(async () => {
      await guard(async () => {
        for (const f of listFlows()) process.stdout.write(`${f.name.padEnd(24)} ${f.builtIn ? 'built-in' : 'user    '}  ${f.description ?? ''}\n`);
      });
    });

  flow
    .command('show')
    .description('print a flow\'s YAML')
    .argument('<name>', 'flow name or path')
    .action(async (name: string) => {
      await guard(async () => {
        process.stdout.write(openFlow(name).source);
      });
    });

  flow
    .command('copy')
    .description('copy a flow into the user library under a new name (the copy is yours to edit)')
    .argument('<name>', 'flow to copy')
    .argument('<new-name>', 'name of the copy')
    .action(async (name: string, newName: string) => {
      await guard(async () => {
        const item = copyFlow(name, newName);
        process.stdout.write(`${item.file}\n`);
      });
    });

  flow
    .command('lint')
    .description('check a flow (.yaml) or a message template (.tpl): positions, references, template diagnostics')
    .argument('<file>', 'flow or template file')
    .action(async (file: string) => {
      await guard(async () => {
        const diags = lintFile(file);
        for (const d of diags) process.stdout.write(`${d.file ?? file}:${d.line ?? 1}:${d.column ?? 1}: ${d.severity}: ${d.message} [${d.code}]\n`);
        const errors = diags.filter((d) => d.severity === 'error').length;
        process.stderr.write(`${file}: ${errors} error(s), ${diags.length - errors} warning(s)\n`);
        process.exitCode = errors ? 1 : 0;
      });
    });

  flow
    .command('templates')
    .description('list the built-in messages (WEBRTC_HTTP_REQ_* / WEBRTC_HTTP_RESP_*)')
    .action(async () => {
      await guard(async () => {
        for (const m of listMessages()) {
          const what = m.kind === 'request' ? `${m.method ?? ''} ${m.path ?? ''}`.trim() : String(m.status ?? '');
          process.stdout.write(`${m.id.padEnd(36)} ${what.padEnd(60)} ${m.title}\n`);
        }
      });
    });
}

/** Lint diagnostics for a flow or template file; flow load errors become error diagnostics. */
export function lintFile(file: string): Diagnostic[] {
  const source = readFileSync(file, 'utf8');
  if (/\.tpl$/.test(file)) return lintLibraryTemplate(source, { name: file.replace(/^.*\//, '').replace(/\.tpl$/, ''), file });
  const out: Diagnostic[] = [];
  let flow: Flow;
  try {
    flow = parseFlow(source, { file });
    prepareFlow(flow, { forServe: true });
  } catch (err) {
    if (err instanceof FlowLoadError) {
      for (const i of err.issues) out.push({ severity: 'error', code: i.code as never, message: i.message, file: i.file, line: i.line, column: i.column });
      return out;
    }
    throw err;
  }
  const known = knownFillers(flow);
  for (const [name, t] of Object.entries(flow.templates)) {
    for (const d of lintLibraryTemplate(t.source, { name, file, startLine: t.pos.line, indent: t.pos.column - 1, extraFillers: known })) out.push(d);
  }
  return out;
}

/** Every filler the flow itself provides: vars, ranges, `set` and `extract` targets, step vars. */
function knownFillers(flow: Flow): Set<string> {
  const names = new Set<string>([...Object.keys(flow.vars), ...Object.keys(flow.ranges), ...Object.keys(flow.serve.vars), 'client-index', 'client-number', 'target-url', 'target-host']);
  for (const leaf of compileProgram(flow).leaves) {
    for (const k of Object.keys(leaf.vars ?? {})) names.add(k);
    if (leaf.kind === 'set') for (const k of Object.keys(leaf.values)) names.add(k);
    if ((leaf.kind === 'send' || leaf.kind === 'await') && leaf.extract) for (const k of Object.keys(leaf.extract)) names.add(k);
  }
  return names;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function parseVars(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new FlowConfigError(`--var expects name=value, got "${kv}"`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

function intOpt(v: unknown, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new FlowConfigError(`--${what} expects a whole number, got "${String(v)}"`);
  return n;
}

/** Known errors print as one clear message and exit code 2; anything else is a bug and rethrown. */
async function guard(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof FlowLoadError || err instanceof FlowConfigError || err instanceof LibraryError || err instanceof TemplateError || err instanceof RangeError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}
