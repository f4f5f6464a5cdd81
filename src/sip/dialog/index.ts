/** Dialogs (RFC 3261 §12). */
export { Dialog, dialogKey } from './dialog.ts';
export type { DialogInit, DialogState, RemoteCSeqCheck } from './dialog.ts';
