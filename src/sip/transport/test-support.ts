/**
 * Shared pieces of this folder's tests: a throw-away self-signed certificate, request builders,
 * a logger that records what it was told, and small waiting helpers. Not part of the public API.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequest, newBranch, newCallId, type SipRequest } from '../message/index.ts';
import type { SipLogger } from '../logger.ts';

export interface TestCert {
  key: string;
  cert: string;
}

/** A one-day self-signed certificate for `localhost` and 127.0.0.1, made with openssl. */
export function makeSelfSignedCert(): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'portico-cert-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg?: string;
}

/** A SipLogger keeping every line, for asserting on warnings. */
export function recordingLogger(): SipLogger & { lines: LogLine[]; warns(): LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (obj: object, msg?: string) => {
    lines.push({ level, obj: obj as Record<string, unknown>, msg });
  };
  const logger = {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
    warns: () => lines.filter((l) => l.level === 'warn'),
  };
  return logger;
}

/** An OPTIONS request whose top Via names `sentBy` over `protocol`. */
export function optionsRequest(protocol: string, sentBy: string, opts: { rport?: boolean; body?: string } = {}): SipRequest {
  const req = createRequest({
    method: 'OPTIONS',
    uri: 'sip:bob@example.com',
    from: `<sip:alice@example.com>;tag=a1`,
    to: '<sip:bob@example.com>',
    callId: newCallId(),
    cseq: 1,
    body: opts.body,
    contentType: opts.body === undefined ? undefined : 'text/plain',
  });
  req.headers.prepend('Via', `SIP/2.0/${protocol.toUpperCase()} ${sentBy};branch=${newBranch()}${opts.rport ? ';rport' : ''}`);
  return req;
}

/** Resolves with the first value `next` produces; rejects after `ms`. */
export function nextValue<T>(register: (cb: (v: T) => void) => void, ms = 2000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nothing arrived within ${ms} ms`)), ms);
    register((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true or `ms` pass. */
export async function waitFor(check: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

/** Handles Node still holds (sockets, servers, timers), by kind. */
export function activeResources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}
