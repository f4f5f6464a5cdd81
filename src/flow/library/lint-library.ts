/** Linting with the built-in filler catalogue as the known names. */
import { lintTemplate, type Diagnostic, type LintOptions } from '../template/index.ts';
import { KNOWN_FILLERS } from './fillers.ts';

/** Lints a template against the catalogue plus any extra names (a flow's vars and extractions). */
export function lintLibraryTemplate(source: string, opts: LintOptions & { extraFillers?: Iterable<string> }): Diagnostic[] {
  const known = new Set<string>([...KNOWN_FILLERS, ...(opts.extraFillers ?? []), ...(opts.knownFillers ?? [])]);
  return lintTemplate(source, { ...opts, knownFillers: known });
}
