/**
 * The flow tester: flows of HTTP and WebSocket messages built from templates, run as many emulated
 * clients at a rate (`runFlow`) or answered as the network host (`serveFlow`). See README.md.
 */
export * from './model/index.ts';
export { runFlow, startTimeMs, targetVars, type RunOptions, type RunResult } from './runner/run-flow.ts';
export { prepareFlow, type PreparedFlow, type PrepareOptions } from './runner/prepare.ts';
export { loadFlow } from './runner/load-flow.ts';
export { EmulatedClient, type RecorderLike, type ClientEnvironment } from './runner/flow-client.ts';
export { HttpPool, HttpClientError, parseResponse, type HttpResponse, type Origin } from './runner/http-client.ts';
export { WsChannel, WsChannelError } from './runner/ws-channel.ts';
export { resolvePointer, parsePointer } from './runner/json-pointer.ts';
export { extractValues, checkMatch, checkExpect, Subject } from './runner/extract.ts';
export { parseCsv, CsvError } from './runner/csv.ts';
export { defaultMessageResolver, responseIdFor, type MessageResolver, type ResolvedMessage } from './runner/messages.ts';
export { FlowResponder, serveFlow, routeFromTemplate, matchRoute, type ResponderOptions, type ResponderStats, type RoutePattern } from './responder/index.ts';
export { registerFlowCommands, lintFile } from './cli.ts';
