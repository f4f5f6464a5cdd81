#!/usr/bin/env node
// Finds every *.test.ts under src/ and test/ and runs them with Node's own test runner through tsx.
// Interop tests (test/interop, test/e2e) need real peers from Debian; scripts/ensure-peers.sh installs them.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const only = args.includes('--unit') ? 'unit' : args.includes('--interop') ? 'interop' : 'all';
const filters = args.filter((a) => !a.startsWith('--'));

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

const all = walk(join(root, 'src'), walk(join(root, 'test'), [])).sort();
const isInterop = (f) => f.startsWith('test/interop/') || f.startsWith('test/e2e/');
let files = all.filter((f) => (only === 'unit' ? !isInterop(f) : only === 'interop' ? isInterop(f) : true));
if (filters.length) files = files.filter((f) => filters.some((p) => f.includes(p)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

if (files.some(isInterop)) {
  const peers = spawnSync('bash', [join(root, 'scripts/ensure-peers.sh')], { stdio: 'inherit' });
  if (peers.status !== 0) process.exit(peers.status ?? 1);
}

// Unit tests run in parallel; interop tests one file at a time, since they start real peers on a 2-core box.
const unit = files.filter((f) => !isInterop(f));
const interop = files.filter(isInterop);
let status = 0;
for (const [group, concurrency] of [[unit, 2], [interop, 1]]) {
  if (group.length === 0) continue;
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...group],
    { stdio: 'inherit', cwd: root, env: { ...process.env, PORTICO_LOG_LEVEL: process.env.PORTICO_LOG_LEVEL ?? 'silent' } },
  );
  if (r.status !== 0) status = r.status ?? 1;
}
process.exit(status);
