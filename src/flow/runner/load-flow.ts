import { LibraryError, openFlow, type LibraryOptions } from '../library/index.ts';
import { FlowLoadError, parseFlow, type Flow } from '../model/index.ts';

/** Loads a flow by library name (built-in first, then the user's) or by file path. */
export function loadFlow(nameOrPath: string, opts: LibraryOptions = {}): Flow {
  let opened;
  try {
    opened = openFlow(nameOrPath, opts);
  } catch (err) {
    if (err instanceof LibraryError) throw new FlowLoadError([{ code: 'FLOW_ERR_NOT_FOUND', message: err.message, file: nameOrPath, line: 1, column: 1 }]);
    throw err;
  }
  return parseFlow(opened.source, { file: opened.file });
}
