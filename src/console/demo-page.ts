/**
 * The demo web phone at the gateway's root URL: `GET /` is the page (with what it needs to know:
 * the sylkRTC path, the SIP domain, the local domain's demo users and its echo service) and
 * `GET /phone.js` its script, bundled with esbuild from `phone/main.ts` on the first request and
 * kept in memory. It is an HTTP door of the gateway's server (`handles`/`handleRequest`).
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';

const HERE = dirname(fileURLToPath(import.meta.url));

export interface DemoPageOptions {
  /** The sylkRTC door's WebSocket path. */
  wsPath: string;
  /** The SIP domain the page's accounts are in. */
  domain: string;
  /** Users of the embedded local domain with their passwords (shown as one-click choices); empty with a real SIP network. */
  users: Array<{ name: string; password: string }>;
  /** `echo@<local domain>`, when it runs. */
  echo?: string;
  logger?: Logger;
}

/** Builds the page's script: one IIFE bundle for current browsers. */
export async function buildPhoneScript(): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [join(HERE, 'phone', 'main.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const out = result.outputFiles[0];
  if (!out) throw new Error('esbuild produced no output');
  return out.text;
}

export class DemoPage {
  private readonly opts: DemoPageOptions;
  private html: Promise<string> | undefined;
  private script: Promise<string> | undefined;

  constructor(opts: DemoPageOptions) {
    this.opts = opts;
  }

  handles(path: string): boolean {
    const p = path.split('?')[0];
    return p === '/' || p === '/index.html' || p === '/phone.js';
  }

  /** Bundles the script ahead of the first request (optional; the first request does it otherwise). */
  async prepare(): Promise<void> {
    await Promise.all([this.page(), this.bundle()]);
  }

  handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' });
      res.end('Method Not Allowed\n');
      return;
    }
    const [type, body] = path === '/phone.js' ? ['text/javascript; charset=utf-8', this.bundle()] : ['text/html; charset=utf-8', this.page()];
    body.then(
      (text) => {
        res.writeHead(200, {
          'Content-Type': type,
          'Content-Length': Buffer.byteLength(text),
          'Cache-Control': 'no-cache',
          'X-Content-Type-Options': 'nosniff',
          // The page talks to its own origin only (its WebSocket included).
          ...(type.startsWith('text/html') ? { 'Content-Security-Policy': "default-src 'self'; connect-src 'self' ws: wss:; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; media-src 'self' blob: mediastream:" } : {}),
        });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        this.opts.logger?.error({ err }, 'the demo phone cannot be built');
        // The next request tries again.
        if (path === '/phone.js') this.script = undefined;
        else this.html = undefined;
        if (res.headersSent) return void res.destroy();
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`The demo phone cannot be built: ${(err as Error).message}\n`);
      },
    );
  }

  async close(): Promise<void> {}

  private page(): Promise<string> {
    this.html ??= readFile(join(HERE, 'phone', 'index.html'), 'utf8').then((template) => {
      const { wsPath, domain, users, echo } = this.opts;
      // JSON inside <script>: `<` escaped so no value can close the element.
      const settings = JSON.stringify({ wsPath, domain, users, echo }).replace(/</g, '\\u003c');
      return template.replace('__PORTICO_DEMO__', settings);
    });
    return this.html;
  }

  private bundle(): Promise<string> {
    this.script ??= buildPhoneScript();
    return this.script;
  }
}
