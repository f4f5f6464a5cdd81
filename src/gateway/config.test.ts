/**
 * The configuration: the defaults a newcomer runs with, the example file agreeing with them,
 * environment overrides, and errors that name the setting at fault.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, parseConfig, readTlsFiles } from './config.ts';

const EXAMPLE = resolve(fileURLToPath(import.meta.url), '../../../config/portico.example.yaml');

function issues(raw: unknown, env: NodeJS.ProcessEnv = {}): Array<{ path: string; message: string }> {
  try {
    parseConfig(raw, { env });
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'CONFIG_INVALID');
    return err.issues;
  }
  assert.fail('expected a ConfigError');
}

describe('gateway configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portico-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to SylkServer’s WebSocket address on loopback and the local domain with demo users', () => {
    const c = parseConfig({});
    assert.equal(c.http.host, '127.0.0.1');
    assert.equal(c.http.port, 10888);
    assert.equal(c.http.wsPath, '/webrtcgateway/ws');
    assert.deepEqual(c.sip.transports, ['udp', 'tcp']);
    assert.equal(c.sip.port, 5060);
    assert.equal(c.sip.outboundProxy, undefined);
    assert.equal(c.localDomain.domain, 'portico.local');
    assert.deepEqual(c.localDomain.users, { alice: 'alice', bob: 'bob', carol: 'carol' });
    assert.equal(c.log.level, 'info');
  });

  it('documents every default in config/portico.example.yaml', () => {
    assert.deepEqual(loadConfig(EXAMPLE, {}), parseConfig({}));
  });

  it('keeps defaults for what a file leaves out', () => {
    const c = parseConfig({ http: { port: 8080 }, sip: { outboundProxy: 'sip:proxy.example.com;transport=tcp' } });
    assert.equal(c.http.port, 8080);
    assert.equal(c.http.wsPath, '/webrtcgateway/ws');
    assert.equal(c.sip.timers.t1, 500);
    assert.equal(c.sip.outboundProxy, 'sip:proxy.example.com;transport=tcp');
  });

  it('lets PORTICO_HTTP_PORT, PORTICO_SIP_PORT and PORTICO_LOG_LEVEL override the file', () => {
    const c = parseConfig({ http: { port: 8080 }, sip: { port: 5070 } }, { env: { PORTICO_HTTP_PORT: '9999', PORTICO_SIP_PORT: '5090', PORTICO_LOG_LEVEL: 'debug' } });
    assert.equal(c.http.port, 9999);
    assert.equal(c.sip.port, 5090);
    assert.equal(c.log.level, 'debug');
  });

  it('names the field, the value and the variable in errors from the environment', () => {
    assert.deepEqual(issues({}, { PORTICO_HTTP_PORT: 'eighty' }), [{ path: 'http.port', message: 'expected a port number (0-65535), got "eighty" (from PORTICO_HTTP_PORT)' }]);
    assert.deepEqual(issues({}, { PORTICO_LOG_LEVEL: 'loud' }), [
      { path: 'log.level', message: 'expected one of fatal, error, warn, info, debug, trace, silent, got "loud" (from PORTICO_LOG_LEVEL)' },
    ]);
  });

  it('names every bad field of a file, with what was found', () => {
    const found = issues({
      http: { port: 70000, wsPath: 'ws' },
      sip: { transports: ['sctp'], outboundProxy: 'proxy.example.com', timers: { t1: -1 }, registration: { expires: 5 } },
      localDomain: { domain: 'bad domain', users: { alice: '' } },
      calls: { declineCode: 200 },
      metrics: { enabled: 'yes' },
    });
    const byPath = Object.fromEntries(found.map((i) => [i.path, i.message]));
    assert.equal(byPath['http.port'], 'expected a port number (0-65535), got 70000');
    assert.equal(byPath['http.wsPath'], 'expected a path starting with /, got "ws"');
    assert.match(byPath['sip.transports.0']!, /expected "udp" or "tcp"/);
    assert.match(byPath['sip.outboundProxy']!, /expected a SIP URI .*got "proxy.example.com"/);
    assert.equal(byPath['sip.timers.t1'], 'expected T1 above 0 ms, got -1');
    assert.equal(byPath['sip.registration.expires'], 'expected at least 60 s, got 5');
    assert.match(byPath['localDomain.domain']!, /expected a domain name/);
    assert.equal(byPath['localDomain.users.alice'], 'expected a non-empty password, got ""');
    assert.equal(byPath['calls.declineCode'], 'expected a SIP status (400-699), got 200');
    assert.equal(byPath['metrics.enabled'], 'expected true or false, got "yes"');
    assert.equal(found.length, 10);
  });

  it('calls unknown settings unknown, by their full path (a typo does not pass silently)', () => {
    assert.deepEqual(issues({ http: { prot: 1 }, sipp: {} }), [
      { path: 'http.prot', message: 'unknown setting' },
      { path: 'sipp', message: 'unknown setting' },
    ]);
  });

  it('says what is wrong with the file itself', () => {
    assert.throws(() => loadConfig(join(dir, 'missing.yaml'), {}), (err: ConfigError) => /cannot read the file/.test(err.message) && err.message.includes('missing.yaml'));
    writeFileSync(join(dir, 'broken.yaml'), 'http: [port: 1\n');
    assert.throws(() => loadConfig(join(dir, 'broken.yaml'), {}), /not valid YAML or JSON/);
    writeFileSync(join(dir, 'list.yaml'), '- 1\n- 2\n');
    assert.throws(() => loadConfig(join(dir, 'list.yaml'), {}), /\(top level\): expected a mapping of settings/);
  });

  it('reads JSON too, and resolves TLS paths against the file; an unreadable one names its setting', () => {
    const file = join(dir, 'portico.json');
    writeFileSync(file, JSON.stringify({ http: { tls: { cert: 'certs/c.pem', key: '/abs/k.pem' } } }));
    const c = loadConfig(file, {});
    assert.equal(c.http.tls?.cert, join(dir, 'certs/c.pem'));
    assert.equal(c.http.tls?.key, '/abs/k.pem');
    assert.throws(() => readTlsFiles('http.tls', c.http.tls!, file), (err: ConfigError) => err.issues[0]!.path === 'http.tls.cert' && /ENOENT/.test(err.issues[0]!.message));
  });
});
