/**
 * The applications the hooks serve, changed at run time (admin API, `portico app ...`) and kept in
 * a JSON file so a restart keeps them. When the file exists it is the list of apps; the apps of the
 * config file only seed it the first time. Writes are atomic (a temporary file renamed over).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { appSchema, type AppConfig, type AppInput } from './config.ts';
import { HOOK_METHODS, hookMethodNamed, type HookMethod } from './methods.ts';

export type AppStoreErrorCode = 'HOOKS_ERR_APP_EXISTS' | 'HOOKS_ERR_APP_UNKNOWN' | 'HOOKS_ERR_APP_INVALID' | 'HOOKS_ERR_KEY_TAKEN' | 'HOOKS_ERR_METHOD_UNKNOWN' | 'HOOKS_ERR_STORE_FILE';

/** A refused change of the app list; `status` is what the admin API answers. */
export class AppStoreError extends Error {
  readonly code: AppStoreErrorCode;
  readonly status: number;
  constructor(code: AppStoreErrorCode, message: string, status: number) {
    super(message);
    this.name = 'AppStoreError';
    this.code = code;
    this.status = status;
  }
}

/** What `update` may change: everything but the name. */
export type AppPatch = Partial<Omit<AppInput, 'name'>>;

function validate(input: unknown): AppConfig {
  const r = appSchema.safeParse(input);
  if (r.success) return r.data;
  const text = r.error.issues.map((i) => `${i.path.join('.') || 'app'}: ${i.message}`).join('; ');
  throw new AppStoreError('HOOKS_ERR_APP_INVALID', text, 400);
}

export class AppStore {
  private readonly apps = new Map<string, AppConfig>();
  private readonly file: string | undefined;
  private listeners: Array<() => void> = [];

  /** `seed`: the config file's apps, used unless `file` exists. */
  constructor(opts: { file?: string; seed?: AppConfig[] } = {}) {
    this.file = opts.file;
    let initial: unknown[] = opts.seed ?? [];
    if (this.file && existsSync(this.file)) {
      let raw: unknown;
      try {
        raw = JSON.parse(readFileSync(this.file, 'utf8'));
      } catch (err) {
        throw new AppStoreError('HOOKS_ERR_STORE_FILE', `cannot read the apps file ${this.file}: ${(err as Error).message}`, 500);
      }
      const list = (raw as { apps?: unknown }).apps;
      if (!Array.isArray(list)) throw new AppStoreError('HOOKS_ERR_STORE_FILE', `the apps file ${this.file} has no "apps" list`, 500);
      initial = list;
    }
    for (const a of initial) {
      const app = validate(a);
      if (this.apps.has(app.name)) throw new AppStoreError('HOOKS_ERR_APP_EXISTS', `app ${app.name} is listed twice`, 409);
      this.apps.set(app.name, app);
    }
  }

  /** Called after every change (the hooks drop cached clients, the admin API answers). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  list(): AppConfig[] {
    return [...this.apps.values()];
  }

  get(name: string): AppConfig | undefined {
    return this.apps.get(name);
  }

  /** The app a client's `appKey` names (the key, or the name when the app has no key). */
  byKey(key: string): AppConfig | undefined {
    for (const app of this.apps.values()) if ((app.key ?? app.name) === key) return app;
    return undefined;
  }

  add(input: AppInput): AppConfig {
    const app = validate(input);
    if (this.apps.has(app.name)) throw new AppStoreError('HOOKS_ERR_APP_EXISTS', `app ${app.name} already exists`, 409);
    this.assertKeyFree(app);
    this.apps.set(app.name, app);
    this.changed();
    return app;
  }

  update(name: string, patch: AppPatch): AppConfig {
    const current = this.require(name);
    const next = validate({ ...current, ...patch, name });
    this.assertKeyFree(next);
    this.apps.set(name, next);
    this.changed();
    return next;
  }

  remove(name: string): void {
    this.require(name);
    this.apps.delete(name);
    this.changed();
  }

  /** WCS `add app-rest-method <app> <method>`, or every method with `'all'` (`-a`). */
  enableMethod(name: string, method: string | 'all'): AppConfig {
    const app = this.require(name);
    if (method === 'all') return this.setMethods(app, 'all');
    const m = this.methodNamed(method);
    const now = app.methods === 'all' ? 'all' : app.methods.includes(m) ? app.methods : [...app.methods, m];
    return this.setMethods(app, now);
  }

  /** WCS `remove app-rest-method <app> <method>`, or every method with `'all'`: then no request goes to the app. */
  disableMethod(name: string, method: string | 'all'): AppConfig {
    const app = this.require(name);
    if (method === 'all') return this.setMethods(app, []);
    const m = this.methodNamed(method);
    const from = app.methods === 'all' ? [...HOOK_METHODS] : app.methods;
    return this.setMethods(
      app,
      from.filter((x) => x !== m),
    );
  }

  private setMethods(app: AppConfig, methods: 'all' | HookMethod[]): AppConfig {
    const next = { ...app, methods };
    this.apps.set(app.name, next);
    this.changed();
    return next;
  }

  private methodNamed(name: string): HookMethod {
    const m = hookMethodNamed(name);
    if (!m) throw new AppStoreError('HOOKS_ERR_METHOD_UNKNOWN', `unknown REST method "${name}"; expected one of ${HOOK_METHODS.join(', ')}`, 400);
    return m;
  }

  private require(name: string): AppConfig {
    const app = this.apps.get(name);
    if (!app) throw new AppStoreError('HOOKS_ERR_APP_UNKNOWN', `no app named ${name}`, 404);
    return app;
  }

  private assertKeyFree(app: AppConfig): void {
    const key = app.key ?? app.name;
    for (const other of this.apps.values()) {
      if (other.name !== app.name && (other.key ?? other.name) === key) throw new AppStoreError('HOOKS_ERR_KEY_TAKEN', `app ${other.name} already uses the key ${key}`, 409);
    }
  }

  private changed(): void {
    this.persist();
    for (const l of this.listeners) l();
  }

  private persist(): void {
    if (!this.file) return;
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileSync(tmp, `${JSON.stringify({ apps: this.list() }, null, 2)}\n`, { mode: 0o600 });
      renameSync(tmp, this.file);
    } catch (err) {
      throw new AppStoreError('HOOKS_ERR_STORE_FILE', `cannot write the apps file ${this.file}: ${(err as Error).message}`, 500);
    }
  }
}
