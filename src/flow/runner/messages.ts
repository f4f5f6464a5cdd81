import type { FlowOptions } from '../model/index.ts';
import { resolveMessageTemplate } from '../library/index.ts';

/** Where a message id's template comes from: its source text and, for diagnostics, its file. */
export interface ResolvedMessage {
  source: string;
  file?: string;
  origin?: 'default' | 'custom' | 'library';
}

/** Resolves a message id; throws (LibraryError, TemplateError) when the choice cannot be honoured. */
export type MessageResolver = (id: string, options: FlowOptions, flowFile?: string) => ResolvedMessage;

/** The response paired with a request id: `WEBRTC_HTTP_REQ_X` → `WEBRTC_HTTP_RESP_X`. */
export function responseIdFor(requestId: string): string | undefined {
  return requestId.includes('_REQ_') ? requestId.replace('_REQ_', '_RESP_') : undefined;
}

/**
 * "Use Default" resolution through the message library: the built-in template, or the flow's
 * custom one (inline or `library:NAME`) per message and for the whole flow.
 */
export const defaultMessageResolver: MessageResolver = (id, options, flowFile) => {
  const r = resolveMessageTemplate(id, { useDefault: options.useDefault, custom: options.custom, messageUseDefault: options.messageUseDefault }, { inline: { file: flowFile } });
  return { source: r.source, file: r.file, origin: r.origin };
};
