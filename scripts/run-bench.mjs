#!/usr/bin/env node
// Runs every bench/*.bench.ts (or those whose name contains an argument) one after another, so
// they do not compete for the machine's cores. Each prints its figures and one JSON line.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);
const benches = readdirSync(join(root, 'bench'))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((p) => f.includes(p)))
  .sort();
const peers = spawnSync('bash', [join(root, 'scripts/ensure-peers.sh'), '--bench'], { stdio: 'inherit' });
if (peers.status !== 0) process.exit(peers.status ?? 1);
let status = 0;
for (const file of benches) {
  console.error(`\n=== bench/${file}`);
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join('bench', file)], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) status = r.status ?? 1;
}
process.exit(status);
