import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RunSummary } from './report-types.ts';

/**
 * Writes the final summary as pretty-printed JSON (shape: `RunSummary`, `version: 1`). The file is
 * written beside its destination and renamed into place, so a reader never sees half a document.
 */
export function writeJsonSummary(path: string, summary: RunSummary): void {
  writeAtomically(path, `${JSON.stringify(summary, null, 2)}\n`);
}

/** Writes a whole file through a temporary sibling and a rename. */
export function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
