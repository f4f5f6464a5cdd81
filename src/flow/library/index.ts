/** Built-in WebRTC messages, the user's template and flow library, and "Use Default" resolution. */
export * from './library.ts';
export { MESSAGE_INDEX, MESSAGE_STEPS, type MessageIndexEntry, type ExtractionHint } from './message-index.ts';
export { FILLER_CATALOGUE, KNOWN_FILLERS, fillerInfo, type FillerInfo, type FillerOrigin } from './fillers.ts';
export { lintLibraryTemplate } from './lint-library.ts';
