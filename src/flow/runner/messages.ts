import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FlowOptions } from '../model/index.ts';

/** Where a message id's template comes from: its source text and, for diagnostics, its file. */
export interface ResolvedMessage {
  source: string;
  file?: string;
}

export type MessageResolver = (id: string, options: FlowOptions) => ResolvedMessage | undefined;

/** The response paired with a request id: `WEBRTC_HTTP_REQ_X` → `WEBRTC_HTTP_RESP_X`. */
export function responseIdFor(requestId: string): string | undefined {
  return requestId.includes('_REQ_') ? requestId.replace('_REQ_', '_RESP_') : undefined;
}

const cache = new Map<string, ResolvedMessage | null>();

/** Resolves ids to the built-in message templates shipped under src/flow/library/messages/. */
export const defaultMessageResolver: MessageResolver = (id) => {
  if (!/^[A-Z0-9_]+$/.test(id)) return undefined;
  let hit = cache.get(id);
  if (hit === undefined) {
    const file = fileURLToPath(new URL(`../library/messages/${id}.tpl`, import.meta.url));
    hit = existsSync(file) ? { source: readFileSync(file, 'utf8'), file } : null;
    cache.set(id, hit);
  }
  return hit ?? undefined;
};
