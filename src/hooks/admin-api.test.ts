/**
 * Apps at run time: the admin API on the gateway's HTTP server (bearer token, secrets never shown,
 * WCS-style method switches), the apps file that outlives a restart, and `portico app ...` driving
 * both the API and the file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import pino from 'pino';
import { registerAppCommands } from '../cli/app-command.ts';
import { GatewayHttpServer } from '../gateway/server.ts';
import { AdminApi } from './admin-api.ts';
import { AppStore } from './app-store.ts';
import { HOOK_METHODS } from './methods.ts';

const TOKEN = 'a-long-admin-token-0123';

describe('admin API, apps file and portico app', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portico-apps-'));
  const file = join(dir, 'apps.json');
  let store: AppStore;
  let server: GatewayHttpServer;
  let base: string;
  const hooks = { enabled: true, queued: 0 };

  const api = (method: string, path: string, body?: unknown, token: string | null = TOKEN) =>
    fetch(`${base}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });

  async function cli(...args: string[]): Promise<number | undefined> {
    process.exitCode = undefined;
    const program = new Command().exitOverride();
    const sink = { write: (_: string) => true };
    registerAppCommands(program, { out: sink, err: sink });
    await program.parseAsync(['node', 'portico', 'app', ...args]);
    const code = process.exitCode as number | undefined;
    process.exitCode = undefined;
    return code;
  }

  before(async () => {
    store = new AppStore({ file, seed: [{ name: 'seeded', url: 'http://127.0.0.1:9091/EchoApp', enabled: true, methods: 'all', timeoutsMs: {}, onFailure: {} }] });
    server = new GatewayHttpServer({ host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }), health: () => ({ ok: true }), admin: new AdminApi({ store, token: TOKEN, hooks }) });
    await server.start();
    base = server.url();
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a request without the token (401) and is off without a configured token (404)', async () => {
    assert.equal((await api('GET', '/admin/apps', undefined, null)).status, 401);
    assert.equal((await api('GET', '/admin/apps', undefined, 'wrong-token-of-the-same-size')).status, 401);
    const off = new AdminApi({ store, token: undefined });
    const res = { headersSent: false, status: 0, writeHead(s: number) { this.status = s; return this; }, end() {}, setHeader() {} };
    assert.equal(await off.handle({ url: '/admin/apps', method: 'GET', headers: {} } as never, res as never), true);
    assert.equal(res.status, 404);
    assert.equal((await fetch(`${base}/healthz`)).status, 200, 'other paths are not the API');
  });

  it('adds, shows (secrets as ***), updates, switches methods and removes apps; the file follows', async () => {
    let res = await api('POST', '/admin/apps', { name: 'shop', key: 'shopKey', url: 'http://127.0.0.1:9091/Shop', secret: 'sixteen-chars-secret' });
    assert.equal(res.status, 201);
    assert.equal(((await res.json()) as { secret: string }).secret, '***');
    assert.equal((await api('POST', '/admin/apps', { name: 'shop', url: 'http://127.0.0.1:9091/Shop' })).status, 409);
    res = await api('POST', '/admin/apps', { name: 'bad', url: 'ftp://x' });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /^url: expected an http\(s\) URL/);
    res = await api('PATCH', '/admin/apps/shop', { url: 'http://127.0.0.1:9092/Shop' });
    assert.equal(((await res.json()) as { url: string }).url, 'http://127.0.0.1:9092/Shop');
    res = await api('DELETE', '/admin/apps/shop/methods/all');
    assert.deepEqual(((await res.json()) as { methods: string[] }).methods, []);
    res = await api('PUT', '/admin/apps/shop/methods/callstatusevent');
    assert.deepEqual(((await res.json()) as { methods: string[] }).methods, ['CallStatusEvent']);
    assert.equal((await api('PUT', '/admin/apps/shop/methods/nope')).status, 400);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { apps: Array<{ name: string; secret?: string; methods: unknown }> };
    assert.deepEqual(
      saved.apps.map((a) => [a.name, a.methods]),
      [
        ['seeded', 'all'],
        ['shop', ['CallStatusEvent']],
      ],
    );
    assert.equal(saved.apps[1]!.secret, 'sixteen-chars-secret', 'the file keeps the secret (mode 0600)');
    assert.equal((await api('DELETE', '/admin/apps/shop')).status, 204);
    assert.equal((await api('GET', '/admin/apps/shop')).status, 404);
  });

  it('a restart keeps what changed: the file wins over the seed', () => {
    const again = new AppStore({ file, seed: [{ name: 'other', url: 'http://x.example/', enabled: true, methods: 'all', timeoutsMs: {}, onFailure: {} }] });
    assert.deepEqual(again.list().map((a) => a.name), ['seeded']);
  });

  it('switches every hook off and on (PUT /admin/hooks)', async () => {
    const res = await api('PUT', '/admin/hooks', { enabled: false });
    assert.deepEqual(await res.json(), { enabled: false, queued: 0, apps: 1 });
    assert.equal(hooks.enabled, false);
    await api('PUT', '/admin/hooks', { enabled: true });
    assert.equal(hooks.enabled, true);
  });

  it('portico app drives the admin API and the file alike', async () => {
    const target = ['--admin-url', base, '--token', TOKEN];
    assert.equal(await cli('add', 'crm', 'crmKey', 'http://127.0.0.1:9093/Crm', '-u', 'wcs', '-p', 'pw', ...target), 0);
    assert.equal(await cli('rest-method', 'remove', 'crm', '--all', ...target), 0);
    assert.equal(await cli('rest-method', 'add', 'crm', 'connect', ...target), 0);
    assert.equal(await cli('update', 'crm', '-l', 'http://127.0.0.1:9094/Crm', '--disable', ...target), 0);
    const crm = store.get('crm')!;
    assert.deepEqual([crm.key, crm.url, crm.methods, crm.enabled, crm.username, crm.password], ['crmKey', 'http://127.0.0.1:9094/Crm', ['connect'], false, 'wcs', 'pw']);
    assert.equal(await cli('rest-method', 'add', 'crm', ...target), 1, 'neither a method nor --all');
    assert.equal(await cli('remove', 'crm', '--token', 'wrong-token', '--admin-url', base), 1);

    const offline = join(dir, 'offline.json');
    assert.equal(await cli('add', 'shop', 'k', 'http://127.0.0.1:9091/Shop', '--file', offline), 0);
    assert.equal(await cli('rest-method', 'remove', 'shop', 'hangup', '--file', offline), 0);
    const methods = new AppStore({ file: offline }).get('shop')!.methods;
    assert.deepEqual(methods, HOOK_METHODS.filter((m) => m !== 'hangup'));
  });
});
