/**
 * `portico app ...`: the REST hook applications, as WCS's `add app` / `add app-rest-method` do.
 *
 *   portico app list
 *   portico app add NAME KEY URL [-u USER] [-p PASSWORD] [--secret KEY] [--wcs-secret KEY] [--methods all|m1,m2]
 *   portico app update NAME [-k KEY] [-l URL] [-u USER] [-p PASSWORD] [--secret KEY] [--enable | --disable]
 *   portico app remove NAME
 *   portico app rest-method add APP METHOD | --all APP
 *   portico app rest-method remove APP METHOD | --all APP
 *
 * Against a running gateway through its admin API (`--admin-url`, default http://127.0.0.1:10888, and
 * `--token` or PORTICO_ADMIN_TOKEN), or, with `--file`, on the apps file itself (gateway stopped).
 * Either way the change outlives a restart.
 */
import type { Command } from 'commander';
import { AppStore, AppStoreError, redactApp, type AppInput, type AppPatch } from '../hooks/index.ts';

interface Target {
  adminUrl?: string;
  token?: string;
  file?: string;
  json?: boolean;
}

type AppView = Record<string, unknown>;

/** What the commands need, over HTTP or on the file. */
interface AppBackend {
  list(): Promise<AppView[]>;
  add(app: AppInput): Promise<AppView>;
  update(name: string, patch: AppPatch): Promise<AppView>;
  remove(name: string): Promise<void>;
  method(name: string, method: string, enable: boolean): Promise<AppView>;
}

class CliError extends Error {}

function fileBackend(file: string): AppBackend {
  const store = () => new AppStore({ file });
  return {
    list: async () => store().list().map(redactApp),
    add: async (app) => redactApp(store().add(app)),
    update: async (name, patch) => redactApp(store().update(name, patch)),
    remove: async (name) => store().remove(name),
    method: async (name, method, enable) => redactApp(enable ? store().enableMethod(name, method) : store().disableMethod(name, method)),
  };
}

function httpBackend(base: string, token: string | undefined): AppBackend {
  if (!token) throw new CliError('the admin API needs a token: --token or PORTICO_ADMIN_TOKEN (or edit the apps file with --file)');
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(`${base.replace(/\/+$/, '')}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new CliError(`cannot reach the gateway at ${base}: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`);
    }
    if (res.status === 204) return undefined;
    const data = (await res.json().catch(() => ({}))) as { message?: string };
    if (!res.ok) throw new CliError(`${res.status}: ${data.message ?? res.statusText}`);
    return data;
  };
  const app = (name: string) => `/admin/apps/${encodeURIComponent(name)}`;
  return {
    list: async () => ((await call('GET', '/admin/apps')) as { apps: AppView[] }).apps,
    add: async (a) => (await call('POST', '/admin/apps', a)) as AppView,
    update: async (name, patch) => (await call('PATCH', app(name), patch)) as AppView,
    remove: async (name) => void (await call('DELETE', app(name))),
    method: async (name, method, enable) => (await call(enable ? 'PUT' : 'DELETE', `${app(name)}/methods/${encodeURIComponent(method)}`)) as AppView,
  };
}

function backendFor(t: Target): AppBackend {
  if (t.file) return fileBackend(t.file);
  return httpBackend(t.adminUrl ?? process.env.PORTICO_ADMIN_URL ?? 'http://127.0.0.1:10888', t.token ?? process.env.PORTICO_ADMIN_TOKEN);
}

function methodsText(m: unknown): string {
  return m === 'all' ? 'all' : Array.isArray(m) ? (m.length ? m.join(',') : '(none)') : String(m);
}

function show(t: Target, app: AppView): string {
  if (t.json) return JSON.stringify(app);
  return `${app.name}\tkey=${app.key ?? app.name}\turl=${app.url}\tmethods=${methodsText(app.methods)}\t${app.enabled === false ? 'disabled' : 'enabled'}`;
}

/** Runs one `portico app` action; resolves with the exit code. Output goes to `out`, errors to `err`. */
export async function runAppAction(
  action: (b: AppBackend) => Promise<string>,
  t: Target,
  out: { write(s: string): unknown } = process.stdout,
  err: { write(s: string): unknown } = process.stderr,
): Promise<number> {
  try {
    const text = await action(backendFor(t));
    if (text) out.write(`${text}\n`);
    return 0;
  } catch (e) {
    if (e instanceof CliError || e instanceof AppStoreError) {
      err.write(`portico app: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

function withTarget(cmd: Command): Command {
  return cmd
    .option('--admin-url <url>', 'gateway admin API base URL (default http://127.0.0.1:10888, or PORTICO_ADMIN_URL)')
    .option('--token <token>', 'admin API bearer token (or PORTICO_ADMIN_TOKEN)')
    .option('--file <file>', 'edit this apps file instead of a running gateway')
    .option('--json', 'print JSON');
}

function methodsOption(v: string | undefined): 'all' | string[] | undefined {
  if (v === undefined) return undefined;
  return v === 'all' ? 'all' : v.split(',').map((m) => m.trim()).filter((m) => m !== '');
}

/** `io`: where output and errors go (tests pass their own). */
export function registerAppCommands(program: Command, io: { out: { write(s: string): unknown }; err: { write(s: string): unknown } } = { out: process.stdout, err: process.stderr }): void {
  const app = program.command('app').description('REST hook applications of a gateway (list, add, update, remove, rest-method)');
  const run = (action: (b: AppBackend, t: Target) => Promise<string>) => async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const t = cmd.optsWithGlobals() as Target;
    process.exitCode = await runAppAction((b) => action(b, t), t, io.out, io.err);
  };

  withTarget(app.command('list').description('list the apps (secrets shown as ***)')).action(
    run(async (b, t) => {
      const apps = await b.list();
      return t.json ? JSON.stringify(apps) : apps.map((a) => show(t, a)).join('\n');
    }),
  );

  withTarget(
    app
      .command('add <name> <key> <url>')
      .description('add an app: hooks go to <url>/<method>; clients may pick it with <key>')
      .option('-u, --username <user>', 'HTTP basic auth user for the hook requests')
      .option('-p, --password <password>', 'HTTP basic auth password')
      .option('--secret <key>', 'HMAC-SHA256 signing key (X-Portico-Signature)')
      .option('--wcs-secret <key>', "WCS's HMAC-MD5 key (Authorization: WCS ...)")
      .option('--methods <list>', 'all (default) or a comma list of REST methods')
      .option('--disabled', 'add it switched off'),
  ).action(
    run(async (b, t) => {
      const o = t as Target & Record<string, string | boolean | undefined>;
      const [name, key, url] = app.commands.find((c) => c.name() === 'add')!.args as [string, string, string];
      const input: AppInput = { name, key, url };
      if (o.username) input.username = String(o.username);
      if (o.password) input.password = String(o.password);
      if (o.secret) input.secret = String(o.secret);
      if (o.wcsSecret) input.wcsSecret = String(o.wcsSecret);
      const methods = methodsOption(o.methods as string | undefined);
      if (methods) input.methods = methods as AppInput['methods'];
      if (o.disabled) input.enabled = false;
      return show(t, await b.add(input));
    }),
  );

  withTarget(
    app
      .command('update <name>')
      .description('change an app')
      .option('-k, --key <key>', 'new app key')
      .option('-l, --url <url>', 'new REST base URL')
      .option('-u, --username <user>', 'HTTP basic auth user')
      .option('-p, --password <password>', 'HTTP basic auth password')
      .option('--secret <key>', 'HMAC-SHA256 signing key')
      .option('--wcs-secret <key>', "WCS's HMAC-MD5 key")
      .option('--enable', 'switch the app on')
      .option('--disable', 'switch the app off: no request goes to it'),
  ).action(
    run(async (b, t) => {
      const cmd = app.commands.find((c) => c.name() === 'update')!;
      const [name] = cmd.args as [string];
      const o = cmd.opts() as Record<string, string | boolean | undefined>;
      const patch: AppPatch = {};
      if (o.key) patch.key = String(o.key);
      if (o.url) patch.url = String(o.url);
      if (o.username) patch.username = String(o.username);
      if (o.password) patch.password = String(o.password);
      if (o.secret) patch.secret = String(o.secret);
      if (o.wcsSecret) patch.wcsSecret = String(o.wcsSecret);
      if (o.enable) patch.enabled = true;
      if (o.disable) patch.enabled = false;
      if (Object.keys(patch).length === 0) throw new CliError('nothing to change');
      return show(t, await b.update(name, patch));
    }),
  );

  withTarget(app.command('remove <name>').description('remove an app')).action(
    run(async (b) => {
      const [name] = app.commands.find((c) => c.name() === 'remove')!.args as [string];
      await b.remove(name);
      return '';
    }),
  );

  const rest = app.command('rest-method').description('which REST methods an app receives (WCS add/remove app-rest-method)');
  for (const verb of ['add', 'remove'] as const) {
    withTarget(
      rest
        .command(`${verb} <app> [method]`)
        .description(verb === 'add' ? 'send METHOD (or every method with --all) to the app' : 'stop sending METHOD (or every method with --all): then the client must supply everything')
        .option('-a, --all', 'every REST method'),
    ).action(
      run(async (b, t) => {
        const cmd = rest.commands.find((c) => c.name() === verb)!;
        const [name, method] = cmd.args as [string, string | undefined];
        const all = Boolean((cmd.opts() as { all?: boolean }).all);
        if (all === (method !== undefined)) throw new CliError('give either a METHOD or --all');
        return show(t, await b.method(name, all ? 'all' : method!, verb === 'add'));
      }),
    );
  }
}
