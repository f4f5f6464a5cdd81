/**
 * The layering rules of the project, read from the import statements themselves:
 * - `src/sip/` imports nothing outside `src/sip/` (it knows no WebRTC, JSON API or hooks);
 * - inside `src/sip/`, a layer reaches another only through that layer's `index.ts`;
 * - `src/core/` knows no front door (`src/api/`) and no hooks wire format;
 * - `src/flow/` may use `src/sip/` but never the gateway (`src/core/`, `src/api/`, `src/gateway/`).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const src = join(root, 'src');

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/** Every relative import of a file, resolved to a path under src/. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^;]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g)) {
    found.push(relative(src, resolve(dirname(file), m[1] ?? m[2]!)));
  }
  return found;
}

const all = files(src).map((f) => ({ file: relative(src, f), deps: imports(f) }));

describe('layering', () => {
  it('src/sip imports nothing outside src/sip', () => {
    const bad = all
      .filter((f) => f.file.startsWith('sip/'))
      .flatMap((f) => f.deps.filter((d) => !d.startsWith('sip/')).map((d) => `${f.file} → ${d}`));
    assert.deepEqual(bad, []);
  });

  it('a SIP layer reaches another only through its index.ts', () => {
    const layerOf = (p: string) => p.split('/')[1];
    const bad = all
      .filter((f) => f.file.startsWith('sip/') && f.file.split('/').length > 2)
      .flatMap((f) =>
        f.deps
          .filter((d) => d.startsWith('sip/') && d.split('/').length > 2)
          .filter((d) => layerOf(d) !== layerOf(f.file) && !d.endsWith('/index.ts'))
          .map((d) => `${f.file} → ${d}`),
      );
    assert.deepEqual(bad, []);
  });

  it('src/core knows no front door', () => {
    const bad = all
      .filter((f) => f.file.startsWith('core/'))
      .flatMap((f) => f.deps.filter((d) => d.startsWith('api/') || d.startsWith('gateway/')).map((d) => `${f.file} → ${d}`));
    assert.deepEqual(bad, []);
  });

  it('src/flow is independent of the gateway', () => {
    const bad = all
      .filter((f) => f.file.startsWith('flow/'))
      .flatMap((f) =>
        f.deps.filter((d) => d.startsWith('core/') || d.startsWith('api/') || d.startsWith('gateway/')).map((d) => `${f.file} → ${d}`),
      );
    assert.deepEqual(bad, []);
  });

  it('the checks see the imports they are about', () => {
    const ua = all.find((f) => f.file === 'sip/ua/sip-stack.ts');
    assert.ok(ua?.deps.includes('sip/transport/index.ts'), 'an import the checks must be able to read');
  });
});
