import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** One smoke test through a real process and commander: `portico flow list` and `flow lint`. */
describe('portico flow (CLI)', () => {
  it('lists the built-in flows and lints a broken flow with file:line:column', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-flow-'));
    try {
      const bad = join(dir, 'bad.yaml');
      writeFileSync(bad, 'name: bad\nsteps:\n  - send: WEBRTC_HTTP_REQ_INIT\n    expect: { status: 303 }\n    bogus: 1\n');
      const script = join(dir, 'cli.mts');
      writeFileSync(
        script,
        [
          `import { Command } from ${JSON.stringify(join(root, 'node_modules/commander/esm.mjs'))};`,
          `import { registerFlowCommands } from ${JSON.stringify(join(root, 'src/flow/cli.ts'))};`,
          'const p = new Command("portico"); registerFlowCommands(p); await p.parseAsync(process.argv);',
        ].join('\n'),
      );
      const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, PORTICO_FLOW_HOME: dir } });
      const list = run('flow', 'list');
      assert.equal(list.status, 0, list.stderr);
      assert.match(list.stdout, /^webrtc-rest\s+built-in/m);
      assert.match(list.stdout, /^sylkrtc\s+built-in/m);
      assert.match(list.stdout, /^rest-hooks\s+built-in/m);
      const lint = run('flow', 'lint', bad);
      assert.equal(lint.status, 1);
      assert.match(lint.stdout, /bad\.yaml:5:5: error: .*unknown field "bogus"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
