import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TemplateError } from '../template/index.ts';
import {
  LibraryError,
  copyFlow,
  deleteFlow,
  deleteTemplate,
  flowHome,
  getDefaultTemplate,
  lastUsedName,
  listFlows,
  listMessages,
  listTemplates,
  openFlow,
  openTemplate,
  resetMessage,
  resetTemplate,
  resolveMessageTemplate,
  saveFlow,
  saveTemplate,
  type LibraryOptions,
} from './library.ts';

let root: string;
let opts: LibraryOptions;
const libErr = (code: string) => (e: unknown) => e instanceof LibraryError && e.code === code;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'portico-flow-lib-'));
  const builtInFlows = join(root, 'builtin');
  mkdirSync(builtInFlows);
  writeFileSync(join(builtInFlows, 'webrtc-rest.yaml'), 'name: webrtc-rest\ndescription: The whole WebRTC REST flow\nsteps: []\n');
  opts = { home: join(root, 'home'), builtInFlows };
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('message catalogue', () => {
  it('lists each message with its pairing and the fillers it needs', () => {
    const m = listMessages().find((x) => x.id === 'WEBRTC_HTTP_REQ_CALL_CONN')!;
    assert.equal(m.pair, 'WEBRTC_HTTP_RESP_CALL_CONN');
    assert.equal(m.kind, 'request');
    assert.ok(m.needs.includes('sdp') && m.needs.includes('session-id'));
    assert.deepEqual(m.optional, ['oauth-cookie', 'referer']);
    assert.deepEqual(m.computed, ['content-length']);
    const r = listMessages().find((x) => x.id === 'WEBRTC_HTTP_RESP_CHAN_CREATE')!;
    assert.deepEqual(r.provides?.['channel-url'], { json: '/notificationChannel/channelData/channelURL' });
  });

  it('every value a response needs is bound from its request, generated, or configuration', () => {
    const CONFIG = new Set(['webrtc-srv-name', 'http-port', 'websocket-port', 'iam-addr', 'iam-port', 'email1', 'email2', 'msisdn1', 'msisdn2', 'called-number', 'client-correlator', 'session-id', 'client-id', 'callback-url']);
    for (const resp of listMessages().filter((x) => x.kind === 'response')) {
      const req = listMessages().find((x) => x.id === resp.pair)!;
      for (const need of resp.needs) {
        assert.ok(req.binds?.[need] || resp.generated?.includes(need) || CONFIG.has(need), `${resp.id} needs {${need}}: no source`);
      }
    }
  });

  it('every value a request needs is configuration or provided by an earlier response', () => {
    const provided = new Set<string>(['webrtc-srv-url', 'webrtc-srv-name', 'http-port', 'websocket-port', 'called-number', 'sdp', 'chat-msg-content', 'client-correlator', 'oauth-author-code', 'oauth-sess-num', 'oauth-user-id']);
    for (const m of listMessages()) {
      if (m.kind === 'request') for (const need of m.needs) assert.ok(provided.has(need), `${m.id} needs {${need}} before any step provides it`);
      else for (const k of Object.keys(m.provides ?? {})) provided.add(k);
    }
  });
});

describe('Use Default and custom templates', () => {
  const custom = 'GET /custom HTTP/1.1\nHost: {webrtc-srv-name}\n';
  const id = 'WEBRTC_HTTP_REQ_INIT';

  it('uses the built-in template when nothing is customised', () => {
    const r = resolveMessageTemplate(id);
    assert.equal(r.origin, 'default');
    assert.equal(r.source, getDefaultTemplate(id));
  });
  it('uses a custom template when the message is not ticked Use Default', () => {
    const r = resolveMessageTemplate(id, { custom: { [id]: custom } });
    assert.equal(r.origin, 'custom');
    assert.equal(r.compiled.head[0].nodes[0].kind === 'text' && r.compiled.head[0].nodes[0].text, 'GET /custom HTTP/1.1');
  });
  it('the per-message Use Default tick ignores its custom template', () => {
    assert.equal(resolveMessageTemplate(id, { custom: { [id]: custom }, messageUseDefault: { [id]: true } }).origin, 'default');
  });
  it('the global Use Default overrides every per-message choice', () => {
    assert.equal(resolveMessageTemplate(id, { useDefault: true, custom: { [id]: custom }, messageUseDefault: { [id]: false } }).origin, 'default');
  });
  it('a custom template may name a template of the user library', () => {
    saveTemplate('my-init', custom, opts);
    const r = resolveMessageTemplate(id, { custom: { [id]: 'library:my-init' } }, opts);
    assert.equal(r.origin, 'library');
    assert.equal(r.source, custom);
  });
  it('a malformed custom template fails with its position in the flow file', () => {
    assert.throws(
      () => resolveMessageTemplate(id, { custom: { [id]: 'GET / HTTP/1.1\nX: {a:zip}\n' } }, { inline: { file: 'my.yaml', startLine: 20, indent: 6 } }),
      (e: unknown) => e instanceof TemplateError && e.file === 'my.yaml' && e.line === 21 && e.column === 10,
    );
  });
  it('a message that is not built in needs a custom template', () => {
    assert.throws(() => resolveMessageTemplate('MY_MESSAGE'), libErr('library.unknown-message'));
    assert.equal(resolveMessageTemplate('MY_MESSAGE', { custom: { MY_MESSAGE: custom } }).origin, 'custom');
  });
  it('Reset gives back the default source and drops the custom choice without touching the input', () => {
    assert.equal(resetTemplate(id), getDefaultTemplate(id));
    const choices = { custom: { [id]: custom, other: 'x' }, messageUseDefault: { [id]: false } };
    const reset = resetMessage(choices, id);
    assert.deepEqual(reset.custom, { other: 'x' });
    assert.deepEqual(reset.messageUseDefault, {});
    assert.equal(choices.custom[id], custom);
    assert.equal(resolveMessageTemplate(id, reset).origin, 'default');
  });
});

describe('user template library', () => {
  it('lives under $PORTICO_FLOW_HOME, else ~/.portico/flows', () => {
    const saved = process.env.PORTICO_FLOW_HOME;
    try {
      process.env.PORTICO_FLOW_HOME = '/tmp/somewhere';
      assert.equal(flowHome(), '/tmp/somewhere');
      delete process.env.PORTICO_FLOW_HOME;
      assert.match(flowHome(), /\.portico\/flows$/);
    } finally {
      if (saved === undefined) delete process.env.PORTICO_FLOW_HOME;
      else process.env.PORTICO_FLOW_HOME = saved;
    }
  });

  it('saves, lists, opens and deletes the user templates, and remembers the last name', () => {
    const item = saveTemplate('reg-variant', 'GET /x HTTP/1.1\n', opts);
    assert.equal(readFileSync(item.file, 'utf8'), 'GET /x HTTP/1.1\n');
    assert.equal(lastUsedName(opts), 'reg-variant');
    const names = listTemplates(opts);
    assert.ok(names.some((t) => t.name === 'reg-variant' && !t.builtIn));
    assert.ok(names.some((t) => t.name === 'WEBRTC_HTTP_REQ_REG' && t.builtIn));
    assert.equal(openTemplate('reg-variant', opts).source, 'GET /x HTTP/1.1\n');
    deleteTemplate('reg-variant', opts);
    assert.throws(() => openTemplate('reg-variant', opts), libErr('library.not-found'));
  });

  it('built-in templates open read-only and cannot be overwritten or deleted', () => {
    const t = openTemplate('WEBRTC_HTTP_RESP_REG', opts);
    assert.equal(t.builtIn, true);
    assert.throws(() => saveTemplate('WEBRTC_HTTP_RESP_REG', 'x\n', opts), libErr('library.read-only'));
    assert.throws(() => deleteTemplate('WEBRTC_HTTP_RESP_REG', opts), libErr('library.read-only'));
  });

  it('refuses a malformed template and names that could escape the library', () => {
    assert.throws(() => saveTemplate('bad', 'GET / HTTP/1.1\n{#a}\n', opts), (e: unknown) => e instanceof TemplateError && e.line === 2);
    for (const name of ['../evil', 'a/b', '', '.hidden', 'x.tpl']) assert.throws(() => saveTemplate(name, 'x\n', opts), libErr('library.bad-name'));
    assert.ok(!existsSync(join(root, 'evil.tpl')));
  });
});

describe('flow library', () => {
  it('lists built-in flows, then the user copies', () => {
    copyFlow('webrtc-rest', 'my-rest', opts);
    const flows = listFlows(opts);
    assert.deepEqual(flows.map((f) => [f.name, f.builtIn]), [['webrtc-rest', true], ['my-rest', false]]);
    assert.equal(flows[0].description, 'The whole WebRTC REST flow');
  });

  it('a copy is the user\'s: it can be changed and deleted; the built-in cannot', () => {
    const copy = openFlow('my-rest', opts);
    assert.equal(copy.builtIn, false);
    saveFlow('my-rest', copy.source.replace('steps: []', 'steps: [ { pause: 1s } ]'), opts);
    assert.match(openFlow('my-rest', opts).source, /pause/);
    assert.throws(() => saveFlow('webrtc-rest', 'x: 1\n', opts), libErr('library.read-only'));
    assert.throws(() => deleteFlow('webrtc-rest', opts), libErr('library.read-only'));
    assert.throws(() => copyFlow('my-rest', 'webrtc-rest', opts), libErr('library.read-only'));
    assert.throws(() => copyFlow('webrtc-rest', 'my-rest', opts), libErr('library.exists'));
    deleteFlow('my-rest', opts);
    assert.throws(() => openFlow('my-rest', opts), libErr('library.not-found'));
  });

  it('opens a flow by path as well as by name', () => {
    const file = join(root, 'loose.yaml');
    writeFileSync(file, 'name: loose\n');
    assert.equal(openFlow(file, opts).name, 'loose');
  });

  it('refuses to save YAML that does not parse, with line and column', () => {
    assert.throws(() => saveFlow('broken', 'a: [1, 2\nb: 3\n', opts), (e: unknown) => e instanceof LibraryError && e.code === 'library.bad-flow' && /:\d+:\d+: /.test(e.message));
  });

  it('reads the shipped built-in flows folder without failing', () => {
    assert.ok(Array.isArray(listFlows({ home: opts.home })));
  });
});
