import type { Flow, SendStep, SetStep, Step, WsCloseStep, WsOpenStep, WsSendStep, AwaitStep, PauseStep } from './flow-types.ts';

/** The steps that do something on their own; loops, blocks and gotos become jumps. */
export type LeafStep = SendStep | WsOpenStep | WsSendStep | AwaitStep | WsCloseStep | PauseStep | SetStep;

export type FailAction = { kind: 'end' } | { kind: 'continue' } | { kind: 'jump'; to: number };

export type Instr =
  | { op: 'step'; step: LeafStep; onFail: FailAction }
  | { op: 'jump'; to: number }
  | { op: 'loop-init'; slot: number; times: number | 'forever' }
  | { op: 'loop-next'; slot: number; to: number }
  | { op: 'scope-reset'; scope: 'call' | 'chat' }
  | { op: 'end' };

/**
 * A flow flattened into a list of instructions, so that `goto` and `on-failure: goto` can reach any
 * step id, inside or outside loops and blocks, with one program counter per client.
 */
export interface Program {
  flow: Flow;
  instrs: Instr[];
  loopSlots: number;
  /** Every leaf step in file order (for reports and the responder). */
  leaves: LeafStep[];
}

export function compileProgram(flow: Flow): Program {
  const instrs: Instr[] = [];
  const labels = new Map<string, number>();
  const fixups: { at: number; target: string; field: 'jump' | 'fail' }[] = [];
  const leaves: LeafStep[] = [];
  let loopSlots = 0;

  const emit = (steps: Step[]): void => {
    for (const s of steps) {
      if (s.id !== undefined) labels.set(s.id, instrs.length);
      switch (s.kind) {
        case 'goto':
          fixups.push({ at: instrs.length, target: s.target, field: 'jump' });
          instrs.push({ op: 'jump', to: -1 });
          break;
        case 'loop': {
          const slot = loopSlots++;
          instrs.push({ op: 'loop-init', slot, times: s.times });
          const bodyStart = instrs.length;
          emit(s.steps);
          instrs.push({ op: 'loop-next', slot, to: bodyStart });
          break;
        }
        case 'block':
          // Entering or leaving a call/chat block starts that scope afresh.
          instrs.push({ op: 'scope-reset', scope: s.scope });
          emit(s.steps);
          instrs.push({ op: 'scope-reset', scope: s.scope });
          break;
        default: {
          const onFail: FailAction = s.onFailure.kind === 'goto' ? { kind: 'jump', to: -1 } : s.onFailure;
          if (s.onFailure.kind === 'goto') fixups.push({ at: instrs.length, target: s.onFailure.target, field: 'fail' });
          instrs.push({ op: 'step', step: s, onFail });
          leaves.push(s);
        }
      }
    }
  };
  emit(flow.steps);
  const endAt = instrs.length;
  instrs.push({ op: 'end' });
  for (const f of fixups) {
    const to = f.target === 'end' ? endAt : labels.get(f.target);
    if (to === undefined) throw new Error(`unknown step id ${f.target}`);
    const ins = instrs[f.at]!;
    if (f.field === 'jump' && ins.op === 'jump') ins.to = to;
    else if (ins.op === 'step') ins.onFail = { kind: 'jump', to };
  }
  return { flow, instrs, loopSlots, leaves };
}
