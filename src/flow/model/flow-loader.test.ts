import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prepareFlow } from '../runner/prepare.ts';
import { compileProgram, FlowLoadError, parseFlow } from './index.ts';

function loadError(src: string): FlowLoadError {
  try {
    prepareFlow(parseFlow(src, { file: 'bad.yaml' }));
  } catch (err) {
    assert.ok(err instanceof FlowLoadError, `expected FlowLoadError, got ${String(err)}`);
    return err;
  }
  assert.fail('the flow loaded');
}

describe('flow loader', () => {
  it('loads a valid flow and flattens loops, blocks and gotos', () => {
    const flow = parseFlow(
      [
        'name: ok',
        'steps:',
        '  - id: first',
        '    pause: 1ms',
        '  - loop: 2',
        '    steps:',
        '      - pause: 1ms',
        '  - block: call',
        '    steps:',
        '      - set: { a: b }',
        '        scope: call',
        '  - goto: end',
      ].join('\n'),
      { file: 'ok.yaml' },
    );
    const p = compileProgram(flow);
    assert.deepEqual(p.instrs.map((i) => i.op), ['step', 'loop-init', 'step', 'loop-next', 'scope-reset', 'step', 'scope-reset', 'jump', 'end']);
    assert.equal(p.loopSlots, 1);
  });

  it('reports YAML syntax errors with file, line and column', () => {
    const e = loadError('name: x\nsteps:\n  - send: A\n    expect: { status: 201\n');
    assert.equal(e.code, 'FLOW_ERR_YAML');
    assert.equal(e.file, 'bad.yaml');
    assert.ok(e.line >= 4, `line ${e.line}`);
    assert.match(e.message, /^bad\.yaml:\d+:\d+: /);
  });

  it('points at an unknown field', () => {
    const e = loadError('name: x\nsteps:\n  - send: WEBRTC_HTTP_REQ_INIT\n    expekt: { status: 303 }\n');
    assert.equal(e.code, 'FLOW_ERR_SCHEMA');
    assert.deepEqual([e.line, e.column], [4, 5]);
    assert.match(e.message, /unknown field "expekt"/);
  });

  it('points at a value of the wrong type', () => {
    const e = loadError('name: x\nsteps:\n  - pause: soon\n');
    assert.deepEqual([e.line, e.column], [3, 12]);
    assert.match(e.message, /duration/);
  });

  it('rejects a step with two actions and one with none', () => {
    const e = loadError('name: x\nsteps:\n  - pause: 1s\n    goto: end\n  - hello: 1\n');
    assert.equal(e.issues.length, 2);
    assert.deepEqual([e.issues[0]!.line, e.issues[1]!.line], [3, 5]);
  });

  it('rejects a goto to an unknown step id, at the goto', () => {
    const e = loadError('name: x\nsteps:\n  - id: a\n    pause: 1ms\n    on-failure: goto nowhere\n');
    assert.equal(e.code, 'FLOW_ERR_REFERENCE');
    assert.deepEqual([e.line, e.column], [5, 17]);
  });

  it('rejects a bad regular expression in an extraction', () => {
    const e = loadError('name: x\nsteps:\n  - send: WEBRTC_HTTP_REQ_INIT\n    extract:\n      state: { header: Location, regex: "(" }\n');
    assert.equal(e.line, 5);
    assert.match(e.message, /regular expression/);
  });

  it('rejects an unknown message id before anything is sent', () => {
    const e = loadError('name: x\nsteps:\n  - pause: 1ms\n  - send: WEBRTC_HTTP_REQ_NOPE\n');
    assert.equal(e.code, 'FLOW_ERR_REFERENCE');
    assert.equal(e.line, 4);
  });

  it('gives the flow-file line of an error inside an inline template', () => {
    const e = loadError(['name: x', 'steps:', '  - template: |', '      GET / HTTP/1.1', '      X-A: {a:bogus}', ''].join('\n'));
    assert.equal(e.code, 'FLOW_ERR_TEMPLATE');
    assert.equal(e.file, 'bad.yaml');
    assert.equal(e.line, 5);
  });

  it('rejects a data file with a bad header, naming the file', () => {
    const e = loadError('name: x\ndata: /nonexistent/users.csv\nsteps:\n  - pause: 1ms\n');
    assert.equal(e.code, 'FLOW_ERR_DATA');
    assert.match(e.message, /users\.csv/);
  });
});
