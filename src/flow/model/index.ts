export { parseDuration, parseRate } from './duration.ts';
export { FlowLoadError, FlowConfigError, formatIssue, type FlowIssue, type FlowErrorCode } from './flow-errors.ts';
export { loadFlowFile, parseFlow } from './flow-loader.ts';
export { compileProgram, type Program, type Instr, type LeafStep, type FailAction } from './flow-program.ts';
export type * from './flow-types.ts';
