/**
 * The admin HTTP API for apps, on the gateway's HTTP server under `/admin/`. Every request needs
 * `Authorization: Bearer <hooks.admin.token>`; without a configured token the API is off (404).
 * Secrets (password, secret, wcsSecret) are never sent back, only `"***"` where one is set.
 *
 * | request | does |
 * | --- | --- |
 * | `GET /admin/apps` | `{"apps":[…]}` |
 * | `POST /admin/apps` | adds the app in the body (201) |
 * | `GET /admin/apps/NAME` | one app |
 * | `PATCH /admin/apps/NAME` | changes the fields in the body |
 * | `DELETE /admin/apps/NAME` | removes it (204) |
 * | `PUT /admin/apps/NAME/methods/METHOD` | enables a REST method (`all`: every one) |
 * | `DELETE /admin/apps/NAME/methods/METHOD` | disables it (`all`: every one, so no request goes to the app) |
 * | `GET /admin/hooks` | `{"enabled":…, "queued":…, "apps":…}` |
 * | `PUT /admin/hooks` | `{"enabled":false}` switches every hook off (until restart or `true`) |
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppStoreError, type AppStore } from './app-store.ts';
import type { AppConfig } from './config.ts';

export interface AdminApiOptions {
  store: AppStore;
  /** Bearer token; undefined: the API answers 404. */
  token: string | undefined;
  /** The global switch, read and written. */
  hooks?: { enabled: boolean; readonly queued: number };
}

const MAX_BODY = 64 * 1024;
const SECRETS = ['password', 'secret', 'wcsSecret'] as const;

/** An app as the API shows it: secrets replaced by `"***"`. */
export function redactApp(app: AppConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...app };
  for (const k of SECRETS) if (out[k] !== undefined) out[k] = '***';
  return out;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class AdminApi {
  private readonly opts: AdminApiOptions;

  constructor(opts: AdminApiOptions) {
    this.opts = opts;
  }

  /** Answers a request under `/admin/`; false for any other path (not handled). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path !== '/admin' && !path.startsWith('/admin/')) return false;
    try {
      if (this.opts.token === undefined) throw new HttpError(404, 'ADMIN_ERR_OFF', 'the admin API is off (no hooks.admin.token)');
      if (!this.authorized(req.headers.authorization)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="portico-admin"');
        throw new HttpError(401, 'ADMIN_ERR_UNAUTHORIZED', 'a valid bearer token is needed');
      }
      await this.route(req, res, path.split('/').filter((p) => p !== '').map(decodeURIComponent));
    } catch (err) {
      if (err instanceof HttpError) reply(res, err.status, { error: err.code, message: err.message });
      else if (err instanceof AppStoreError) reply(res, err.status, { error: err.code, message: err.message });
      else reply(res, 500, { error: 'ADMIN_ERR_INTERNAL', message: 'internal error' });
    }
    return true;
  }

  private authorized(header: string | undefined): boolean {
    const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!m) return false;
    const got = Buffer.from(m[1]!);
    const want = Buffer.from(this.opts.token!);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  private async route(req: IncomingMessage, res: ServerResponse, parts: string[]): Promise<void> {
    const store = this.opts.store;
    const method = req.method ?? 'GET';
    const [, resource, name, sub, restMethod] = parts;
    if (resource === 'hooks' && parts.length === 2) {
      const hooks = this.opts.hooks;
      if (!hooks) throw new HttpError(404, 'ADMIN_ERR_NOT_FOUND', 'no hooks here');
      if (method === 'GET') return reply(res, 200, { enabled: hooks.enabled, queued: hooks.queued, apps: store.list().length });
      if (method === 'PUT') {
        const body = await readJson(req);
        if (typeof body.enabled !== 'boolean') throw new HttpError(400, 'ADMIN_ERR_BAD_REQUEST', 'expected {"enabled": true|false}');
        hooks.enabled = body.enabled;
        return reply(res, 200, { enabled: hooks.enabled, queued: hooks.queued, apps: store.list().length });
      }
      throw notAllowed('GET, PUT');
    }
    if (resource !== 'apps') throw new HttpError(404, 'ADMIN_ERR_NOT_FOUND', 'no such resource');
    if (name === undefined) {
      if (method === 'GET') return reply(res, 200, { apps: store.list().map(redactApp) });
      if (method === 'POST') return reply(res, 201, redactApp(store.add((await readJson(req)) as never)));
      throw notAllowed('GET, POST');
    }
    if (sub === undefined) {
      if (method === 'GET') {
        const app = store.get(name);
        if (!app) throw new HttpError(404, 'HOOKS_ERR_APP_UNKNOWN', `no app named ${name}`);
        return reply(res, 200, redactApp(app));
      }
      if (method === 'PATCH') {
        const patch = await readJson(req);
        if ('name' in patch && patch.name !== name) throw new HttpError(400, 'ADMIN_ERR_BAD_REQUEST', 'an app cannot be renamed; remove it and add it again');
        return reply(res, 200, redactApp(store.update(name, patch as never)));
      }
      if (method === 'DELETE') {
        store.remove(name);
        res.writeHead(204).end();
        return;
      }
      throw notAllowed('GET, PATCH, DELETE');
    }
    if (sub === 'methods' && restMethod !== undefined && parts.length === 5) {
      const which = restMethod === 'all' ? 'all' : restMethod;
      if (method === 'PUT') return reply(res, 200, redactApp(store.enableMethod(name, which)));
      if (method === 'DELETE') return reply(res, 200, redactApp(store.disableMethod(name, which)));
      throw notAllowed('PUT, DELETE');
    }
    throw new HttpError(404, 'ADMIN_ERR_NOT_FOUND', 'no such resource');
  }
}

function notAllowed(allow: string): HttpError {
  return new HttpError(405, 'ADMIN_ERR_METHOD', `method not allowed here; use ${allow}`);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'ADMIN_ERR_TOO_LARGE', `request body above ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  let v: unknown;
  try {
    v = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new HttpError(400, 'ADMIN_ERR_BAD_JSON', 'the body is not JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'ADMIN_ERR_BAD_REQUEST', 'expected a JSON object');
  return v as Record<string, unknown>;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}
