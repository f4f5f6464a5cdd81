/**
 * HTTP plumbing of the REST door: bodies read with a size limit checked before buffering, JSON
 * parsed into `unknown`, answers written as clean JSON with the OMA headers, errors as the
 * `requestError` envelope.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OmaError } from './errors.ts';

/** Reads the request body; rejects with 413 as soon as it outgrows `maxBytes` (Content-Length first). */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    return Promise.reject(new OmaError('OMA_ERR_TOO_LARGE', [`Body larger than ${maxBytes} bytes`]));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > maxBytes) {
        failed = true;
        chunks.length = 0;
        reject(new OmaError('OMA_ERR_TOO_LARGE', [`Body larger than ${maxBytes} bytes`]));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!failed) reject(err);
      failed = true;
    });
  });
}

/**
 * The JSON document of a body, or undefined for an empty one. Only JSON is accepted: a body that
 * declares XML or a form is 415 (Not yet: OMA's XML and form encodings).
 */
export function parseJsonBody(req: IncomingMessage, body: Buffer): unknown {
  if (body.length === 0) return undefined;
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type && type !== 'application/json' && !type.endsWith('+json') && type !== 'text/plain') {
    throw new OmaError('OMA_ERR_MEDIA_TYPE', [`Content-Type ${type} not supported; send application/json`]);
  }
  const text = body.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new OmaError('OMA_ERR_BAD_JSON', ['body: malformed JSON']);
  }
}

const COMMON_HEADERS = { 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-store' };

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...COMMON_HEADERS, 'Content-Length': 0, ...headers });
  res.end();
}

export function sendRedirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { ...COMMON_HEADERS, Location: location, 'Content-Length': 0 });
  res.end();
}

export function sendText(res: ServerResponse, status: number, type: string, text: string): void {
  res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

export function sendError(res: ServerResponse, err: OmaError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, err.toJSON(), err.headers);
}

/** Path and query of a request URL, whether origin-form (`/a?b`) or absolute-form (`http://h/a?b`). */
export function splitUrl(url: string | undefined): { path: string; query: URLSearchParams } {
  let u = url ?? '/';
  if (/^https?:\/\//i.test(u)) {
    const slash = u.indexOf('/', u.indexOf('//') + 2);
    u = slash < 0 ? '/' : u.slice(slash);
  }
  const q = u.indexOf('?');
  return q < 0 ? { path: u, query: new URLSearchParams() } : { path: u.slice(0, q), query: new URLSearchParams(u.slice(q + 1)) };
}
