// A private network namespace for end-to-end tests: only `lo` (127.0.0.1) and a veth carrying
// 127.0.0.2, so Chromium's ICE candidates, the gateway's media sockets, Kamailio and SIPp all live
// in the loopback range and nothing can reach any other address. The test file re-runs itself
// inside it (as root); the namespace is deleted afterwards, whatever happened.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';

export const NETNS_ENV = 'PORTICO_E2E_NETNS';

/** True inside the namespace (the re-run), false in the outer process. */
export function insideNetns(): boolean {
  return Boolean(process.env[NETNS_ENV]);
}

/** Why the namespace cannot be made here, or undefined when it can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace';
  const ip = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (ip.status !== 0) return 'needs the ip command (iproute2)';
  return undefined;
}

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
}

/**
 * Runs `node --import tsx --test <file>` inside a fresh namespace and returns its exit status and
 * output. The namespace is removed before returning.
 */
export function runTestFileInNetns(file: string, timeoutMs: number): { status: number | null; output: string } {
  const name = `portico-e2e-${randomBytes(3).toString('hex')}`;
  ip('netns', 'add', name);
  try {
    ip('-n', name, 'link', 'set', 'lo', 'up');
    ip('-n', name, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    ip('-n', name, 'addr', 'add', '127.0.0.2/32', 'dev', 'v0');
    ip('-n', name, 'link', 'set', 'v0', 'up');
    ip('-n', name, 'link', 'set', 'v1', 'up');
    // The inner run is a test run of its own, not a child of ours (NODE_TEST_CONTEXT would make it one).
    const env: NodeJS.ProcessEnv = { ...process.env, [NETNS_ENV]: name };
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync('ip', ['netns', 'exec', name, process.execPath, '--import', 'tsx', '--test', '--test-reporter=spec', file], {
      encoding: 'utf8',
      env,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: 32 * 1024 * 1024,
    });
    return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}` };
  } finally {
    // Deleting the namespace also removes the veth pair; any process left inside was ours and is gone with the run.
    spawnSync('ip', ['netns', 'del', name]);
  }
}

/**
 * The outer half of an end-to-end test file: one test that re-runs `file` inside a fresh namespace
 * and passes when every test in there passed, with their lines shown as diagnostics. Without root
 * or iproute2 (or with `unavailable` set) it is skipped with the reason, except under CI, where a
 * missing prerequisite fails instead of hiding the test.
 */
export function runSelfInNetns(title: string, file: string, opts: { timeoutMs: number; unavailable?: string }): void {
  const why = opts.unavailable ?? netnsUnavailable();
  const skip = process.env.CI ? false : (why ?? false);
  it(title, { skip, timeout: opts.timeoutMs + 10_000 }, (t) => {
    if (why) assert.fail(`cannot run: ${why}`);
    const r = runTestFileInNetns(file, opts.timeoutMs);
    for (const line of r.output.split('\n').filter((l) => /figures|✔|✖|ok \d|not ok/.test(l))) t.diagnostic(line.trim());
    assert.equal(r.status, 0, r.output.slice(-6000));
  });
}
