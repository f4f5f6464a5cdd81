/**
 * The message and flow library: built-in default templates (read-only, shipped in ./messages), the user's
 * library under `$PORTICO_FLOW_HOME` (default `~/.portico/flows`), "Use Default" resolution, Reset, Save as
 * template, and listing/opening/copying flows. Built-in flows are the YAML files in src/flow/flows/.
 *
 * Layout of the user library: `<home>/templates/<name>.tpl`, `<home>/flows/<name>.yaml`, `<home>/last-name`.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { compileTemplate, type CompiledTemplate, type CompileOptions } from '../template/index.ts';
import { MESSAGE_INDEX, type MessageIndexEntry } from './message-index.ts';

export const LIBRARY_ERROR_CODES = [
  'library.unknown-message',
  'library.not-found',
  'library.read-only',
  'library.bad-name',
  'library.exists',
  'library.bad-flow',
] as const;
export type LibraryErrorCode = (typeof LIBRARY_ERROR_CODES)[number];

export class LibraryError extends Error {
  override readonly name = 'LibraryError';
  constructor(
    readonly code: LibraryErrorCode,
    message: string,
    readonly item?: string,
  ) {
    super(message);
  }
}

const MESSAGES_DIR = fileURLToPath(new URL('./messages/', import.meta.url));
const BUILTIN_FLOWS_DIR = fileURLToPath(new URL('../flows/', import.meta.url));
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export interface LibraryOptions {
  /** User library folder; default `$PORTICO_FLOW_HOME`, else `~/.portico/flows`. */
  home?: string;
  /** Built-in flows folder (tests); default src/flow/flows. */
  builtInFlows?: string;
}

export function flowHome(opts: LibraryOptions = {}): string {
  return opts.home ?? process.env.PORTICO_FLOW_HOME ?? join(homedir(), '.portico', 'flows');
}

function checkName(name: string, what: string): void {
  if (!NAME_RE.test(name) || name.endsWith('.tpl') || name.endsWith('.yaml')) {
    throw new LibraryError('library.bad-name', `${what} name "${name}": use letters, digits, ".", "_" and "-" (no extension, at most 100)`, name);
  }
}

/** Writes through a temporary file and a rename, so a crash never leaves half a template. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, 'utf8');
  renameSync(tmp, file);
}

// ---------------------------------------------------------------------------------------------------------
// Built-in messages

export interface MessageInfo extends MessageIndexEntry {
  /** Absolute path of the default template. */
  file: string;
  /** Fillers that must have a value (computed ones excluded). */
  needs: string[];
  /** Conditional fillers and section names: used when present. */
  optional: string[];
  /** Computed fillers used. */
  computed: string[];
}

const compiledDefaults = new Map<string, CompiledTemplate>();

export function isBuiltInMessage(id: string): boolean {
  return MESSAGE_INDEX.some((m) => m.id === id);
}

function messageFile(id: string): string {
  if (!isBuiltInMessage(id)) throw new LibraryError('library.unknown-message', `no built-in message ${id}`, id);
  return join(MESSAGES_DIR, `${id}.tpl`);
}

/** The corrected built-in default template of a message (its source text). */
export function getDefaultTemplate(id: string): string {
  return readFileSync(messageFile(id), 'utf8');
}

/** The compiled built-in template (compiled once, then cached). */
export function compileDefaultTemplate(id: string): CompiledTemplate {
  let t = compiledDefaults.get(id);
  if (!t) {
    const file = messageFile(id);
    t = compileTemplate(readFileSync(file, 'utf8'), { name: id, file });
    compiledDefaults.set(id, t);
  }
  return t;
}

function usage(t: CompiledTemplate): { needs: string[]; optional: string[]; computed: string[] } {
  const needs = new Set<string>();
  const optional = new Set<string>();
  const computed = new Set<string>();
  const COMPUTED = new Set(['content-length', 'websocket-key', 'websocket-accept', 'uuid', 'now-iso', 'seq', 'rand-digits']);
  const walk = (nodes: CompiledTemplate['body'], guarded: boolean) => {
    for (const n of nodes) {
      if (n.kind === 'section') {
        optional.add(n.name);
        walk(n.children, true);
      } else if (n.kind === 'filler') {
        if (COMPUTED.has(n.name)) computed.add(n.name);
        else if (n.conditional || guarded) optional.add(n.name);
        else needs.add(n.name);
      }
    }
  };
  t.head.forEach((l) => walk(l.nodes, false));
  walk(t.body, false);
  for (const n of needs) optional.delete(n);
  return { needs: [...needs].sort(), optional: [...optional].sort(), computed: [...computed].sort() };
}

/** Every built-in message, in flow order, request before response. */
export function listMessages(): MessageInfo[] {
  return MESSAGE_INDEX.map((m) => ({ ...m, file: join(MESSAGES_DIR, `${m.id}.tpl`), ...usage(compileDefaultTemplate(m.id)) }));
}

export function getMessageInfo(id: string): MessageInfo | undefined {
  return listMessages().find((m) => m.id === id);
}

// ---------------------------------------------------------------------------------------------------------
// "Use Default" resolution

/**
 * The template choices of a flow (a subset of the flow model's options):
 * - `useDefault`: the global "Use Default": every message uses its built-in template, whatever else is set;
 * - `messageUseDefault[id]`: the per-message tick; `true` ignores that message's custom template;
 * - `custom[id]`: the custom template: inline source, or `library:NAME` for a template of the user library.
 */
export interface TemplateChoices {
  useDefault?: boolean;
  messageUseDefault?: Record<string, boolean>;
  custom?: Record<string, string>;
}

export interface ResolvedTemplate {
  id: string;
  origin: 'default' | 'custom' | 'library';
  source: string;
  /** File the source came from (built-in or library template), or the flow file given for inline ones. */
  file?: string;
  compiled: CompiledTemplate;
}

export interface ResolveOptions extends LibraryOptions {
  /** Compile options for an inline custom template (the flow file and where the template starts in it). */
  inline?: Partial<Omit<CompileOptions, 'name'>>;
}

const LIBRARY_REF = /^library:([^\s]+)$/;

/**
 * Which template a message uses. Order: global Use Default → built-in; per-message Use Default → built-in;
 * a custom template (inline or `library:NAME`) → that; otherwise the built-in. A message id that is not
 * built-in must have a custom template. Throws `TemplateError` when the chosen source is malformed.
 */
export function resolveMessageTemplate(id: string, choices: TemplateChoices = {}, opts: ResolveOptions = {}): ResolvedTemplate {
  const custom = choices.custom?.[id];
  const forcedDefault = choices.useDefault === true || choices.messageUseDefault?.[id] === true;
  if ((forcedDefault || custom === undefined) && isBuiltInMessage(id)) {
    const compiled = compileDefaultTemplate(id);
    return { id, origin: 'default', source: compiled.source, file: compiled.file, compiled };
  }
  if (custom === undefined) {
    throw new LibraryError('library.unknown-message', `message ${id} is not built in and the flow gives no template for it`, id);
  }
  const ref = LIBRARY_REF.exec(custom.trim());
  if (ref) {
    const t = openTemplate(ref[1], opts);
    return { id, origin: 'library', source: t.source, file: t.file, compiled: compileTemplate(t.source, { name: id, file: t.file }) };
  }
  const compiled = compileTemplate(custom, { ...opts.inline, name: id });
  return { id, origin: 'custom', source: custom, file: opts.inline?.file, compiled };
}

/** "Reset": the default source to show again in an editor. */
export function resetTemplate(id: string): string {
  return getDefaultTemplate(id);
}

/** "Reset" applied to a flow's choices: the message goes back to its default (a new object; input untouched). */
export function resetMessage<T extends TemplateChoices>(choices: T, id: string): T {
  const custom = { ...(choices.custom ?? {}) };
  delete custom[id];
  const messageUseDefault = { ...(choices.messageUseDefault ?? {}) };
  delete messageUseDefault[id];
  return { ...choices, custom, messageUseDefault };
}

// ---------------------------------------------------------------------------------------------------------
// User library: templates

export interface LibraryItem {
  name: string;
  builtIn: boolean;
  file: string;
  description?: string;
}

export interface OpenedItem extends LibraryItem {
  source: string;
}

function rememberName(home: string, name: string): void {
  try {
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'last-name'), name + '\n', 'utf8');
  } catch {
    // Remembering the last name is a convenience; a read-only home must not fail a save or an open.
  }
}

/** The name last saved or opened, to pre-fill a save dialog. */
export function lastUsedName(opts: LibraryOptions = {}): string | undefined {
  try {
    return readFileSync(join(flowHome(opts), 'last-name'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * "Save as template": stores a template in the user library. The source must compile (a malformed template
 * is refused with its file/line/column error). Built-in names (message ids) are read-only.
 */
export function saveTemplate(name: string, source: string, opts: LibraryOptions & { overwrite?: boolean } = {}): LibraryItem {
  checkName(name, 'template');
  if (isBuiltInMessage(name)) {
    throw new LibraryError('library.read-only', `${name} is a built-in template and cannot be overwritten; save the copy under another name`, name);
  }
  const home = flowHome(opts);
  const dir = join(home, 'templates');
  const file = join(dir, `${name}.tpl`);
  compileTemplate(source, { name, file });
  if (opts.overwrite === false && existsSync(file)) throw new LibraryError('library.exists', `template ${name} already exists`, name);
  mkdirSync(dir, { recursive: true });
  writeAtomic(file, source);
  rememberName(home, name);
  return { name, builtIn: false, file };
}

/** Opens a template: a built-in message id, or a name in the user library. */
export function openTemplate(name: string, opts: LibraryOptions = {}): OpenedItem {
  if (isBuiltInMessage(name)) {
    const m = MESSAGE_INDEX.find((x) => x.id === name);
    return { name, builtIn: true, file: messageFile(name), source: getDefaultTemplate(name), description: m?.description };
  }
  checkName(name, 'template');
  const home = flowHome(opts);
  const file = join(home, 'templates', `${name}.tpl`);
  if (!existsSync(file)) throw new LibraryError('library.not-found', `no template ${name} in ${join(home, 'templates')}`, name);
  rememberName(home, name);
  return { name, builtIn: false, file, source: readFileSync(file, 'utf8') };
}

/** Built-in templates first (flow order), then the user's, by name. */
export function listTemplates(opts: LibraryOptions = {}): LibraryItem[] {
  const builtIn = MESSAGE_INDEX.map((m) => ({ name: m.id, builtIn: true, file: join(MESSAGES_DIR, `${m.id}.tpl`), description: m.description }));
  const dir = join(flowHome(opts), 'templates');
  const user = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.tpl'))
        .sort()
        .map((f) => ({ name: basename(f, '.tpl'), builtIn: false, file: join(dir, f) }))
    : [];
  return [...builtIn, ...user];
}

export function deleteTemplate(name: string, opts: LibraryOptions = {}): void {
  if (isBuiltInMessage(name)) throw new LibraryError('library.read-only', `${name} is a built-in template and cannot be deleted`, name);
  checkName(name, 'template');
  const file = join(flowHome(opts), 'templates', `${name}.tpl`);
  if (!existsSync(file)) throw new LibraryError('library.not-found', `no template ${name}`, name);
  rmSync(file);
}

// ---------------------------------------------------------------------------------------------------------
// Flows

function builtInFlowFiles(opts: LibraryOptions): Map<string, string> {
  const dir = opts.builtInFlows ?? BUILTIN_FLOWS_DIR;
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir).sort()) {
    if (f.endsWith('.yaml') || f.endsWith('.yml')) out.set(basename(f, extname(f)), join(dir, f));
  }
  return out;
}

function flowDescription(source: string): string | undefined {
  try {
    const d = parseDocument(source).toJS() as { description?: unknown } | null;
    return typeof d?.description === 'string' ? d.description : undefined;
  } catch {
    return undefined;
  }
}

/** Built-in flows, then the user's; a user flow shadowed by a built-in of the same name is not listed. */
export function listFlows(opts: LibraryOptions = {}): LibraryItem[] {
  const builtIn = [...builtInFlowFiles(opts)].map(([name, file]) => ({ name, builtIn: true, file, description: flowDescription(readFileSync(file, 'utf8')) }));
  const dir = join(flowHome(opts), 'flows');
  const taken = new Set(builtIn.map((b) => b.name));
  const user = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.yaml'))
        .sort()
        .map((f) => ({ name: basename(f, '.yaml'), builtIn: false, file: join(dir, f) }))
        .filter((u) => !taken.has(u.name))
        .map((u) => ({ ...u, description: flowDescription(readFileSync(u.file, 'utf8')) }))
    : [];
  return [...builtIn, ...user];
}

/**
 * Opens a flow by name (built-in first, then the user library) or by path (anything with a "/" or a .yaml
 * extension is read as a file).
 */
export function openFlow(nameOrPath: string, opts: LibraryOptions = {}): OpenedItem {
  if (nameOrPath.includes('/') || /\.ya?ml$/.test(nameOrPath) || isAbsolute(nameOrPath)) {
    const file = resolve(nameOrPath);
    if (!existsSync(file)) throw new LibraryError('library.not-found', `no flow file ${file}`, nameOrPath);
    return { name: basename(file, extname(file)), builtIn: false, file, source: readFileSync(file, 'utf8') };
  }
  checkName(nameOrPath, 'flow');
  const b = builtInFlowFiles(opts).get(nameOrPath);
  if (b) return { name: nameOrPath, builtIn: true, file: b, source: readFileSync(b, 'utf8') };
  const home = flowHome(opts);
  const file = join(home, 'flows', `${nameOrPath}.yaml`);
  if (!existsSync(file)) {
    const known = listFlows(opts).map((f) => f.name);
    throw new LibraryError('library.not-found', `no flow ${nameOrPath}; known flows: ${known.join(', ') || '(none)'}`, nameOrPath);
  }
  rememberName(home, nameOrPath);
  return { name: nameOrPath, builtIn: false, file, source: readFileSync(file, 'utf8') };
}

function checkYaml(name: string, file: string, source: string): void {
  const doc = parseDocument(source, { prettyErrors: false });
  const err = doc.errors[0];
  if (err) {
    const [line, column] = err.linePos?.[0] ? [err.linePos[0].line, err.linePos[0].col] : [0, 0];
    throw new LibraryError('library.bad-flow', `${file}:${line}:${column}: ${err.message.split('\n')[0]}`, name);
  }
}

/** Saves a flow into the user library. Built-in flow names are read-only. The YAML must at least parse. */
export function saveFlow(name: string, source: string, opts: LibraryOptions & { overwrite?: boolean } = {}): LibraryItem {
  checkName(name, 'flow');
  if (builtInFlowFiles(opts).has(name)) {
    throw new LibraryError('library.read-only', `${name} is a built-in flow and cannot be overwritten; copy it under another name`, name);
  }
  const home = flowHome(opts);
  const dir = join(home, 'flows');
  const file = join(dir, `${name}.yaml`);
  checkYaml(name, file, source);
  if (opts.overwrite === false && existsSync(file)) throw new LibraryError('library.exists', `flow ${name} already exists`, name);
  mkdirSync(dir, { recursive: true });
  writeAtomic(file, source);
  rememberName(home, name);
  return { name, builtIn: false, file };
}

/** Copies a flow (built-in or the user's) into the user library under a new name; the copy is the user's. */
export function copyFlow(name: string, newName: string, opts: LibraryOptions & { overwrite?: boolean } = {}): LibraryItem {
  const src = openFlow(name, opts);
  return saveFlow(newName, src.source, { ...opts, overwrite: opts.overwrite ?? false });
}

export function deleteFlow(name: string, opts: LibraryOptions = {}): void {
  checkName(name, 'flow');
  if (builtInFlowFiles(opts).has(name)) throw new LibraryError('library.read-only', `${name} is a built-in flow and cannot be deleted`, name);
  const file = join(flowHome(opts), 'flows', `${name}.yaml`);
  if (!existsSync(file)) throw new LibraryError('library.not-found', `no flow ${name}`, name);
  rmSync(file);
}
