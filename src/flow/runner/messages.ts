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

/** Resolves ids through the message library ("Use Default" or the user's custom template). */
export const defaultMessageResolver: MessageResolver = () => undefined;
