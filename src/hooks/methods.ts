/**
 * The REST hook methods, with Web Call Server's names, and what kind each is. The kind decides how
 * a failure is handled:
 *
 * | kind | methods | awaited | can refuse | on failure (unreachable, timeout, 5xx, bad JSON) |
 * | --- | --- | --- | --- | --- |
 * | `connect` | connect | yes | yes: the client gets the reason | fail-closed by default |
 * | `direct` | call, answer, sendDtmf, hold, unhold, sendMessage | yes | yes: the client gets the reason | call fail-closed, others fail-open |
 * | `incoming` | OnCallEvent, OnMessageEvent | yes | yes: the SIP peer gets 403 | fail-open by default |
 * | `event` | *StatusEvent, hangup | no: queued per connection | no | retried with back-off, in order |
 *
 * Deviation: WCS awaits `hangup` like any direct invocation. Ending a call must always work, so
 * Portico sends `hangup` through the ordered event queue (before the call's `CallStatusEvent`
 * FINISH) and never lets it refuse.
 */

export const HOOK_METHODS = [
  'connect',
  'ConnectionStatusEvent',
  'RegistrationStatusEvent',
  'call',
  'CallStatusEvent',
  'answer',
  'hangup',
  'hold',
  'unhold',
  'sendDtmf',
  'OnCallEvent',
  'sendMessage',
  'MessageStatusEvent',
  'OnMessageEvent',
] as const;

export type HookMethod = (typeof HOOK_METHODS)[number];

export type HookKind = 'connect' | 'direct' | 'incoming' | 'event';

export const HOOK_KIND: Record<HookMethod, HookKind> = {
  connect: 'connect',
  ConnectionStatusEvent: 'event',
  RegistrationStatusEvent: 'event',
  call: 'direct',
  CallStatusEvent: 'event',
  answer: 'direct',
  hangup: 'event',
  hold: 'direct',
  unhold: 'direct',
  sendDtmf: 'direct',
  OnCallEvent: 'incoming',
  sendMessage: 'direct',
  MessageStatusEvent: 'event',
  OnMessageEvent: 'incoming',
};

export type FailureMode = 'open' | 'closed';

/** Fail-closed where letting a request through unchecked costs money or access (WCS §3.2 item 3). */
export const DEFAULT_FAILURE_MODE: Record<HookMethod, FailureMode> = Object.fromEntries(
  HOOK_METHODS.map((m) => [m, m === 'connect' || m === 'call' ? 'closed' : 'open']),
) as Record<HookMethod, FailureMode>;

/** Per-attempt deadlines in ms: short for what a caller waits on (WCS waits 15 s by default). */
export const DEFAULT_TIMEOUT_MS: Record<HookMethod, number> = Object.fromEntries(
  HOOK_METHODS.map((m) => [m, HOOK_KIND[m] === 'event' ? 2000 : 1000]),
) as Record<HookMethod, number>;

export function isHookMethod(name: string): name is HookMethod {
  return (HOOK_METHODS as readonly string[]).includes(name);
}

/** `callstatusevent` → `CallStatusEvent`: method names as users type them on the command line. */
export function hookMethodNamed(name: string): HookMethod | undefined {
  const lower = name.toLowerCase();
  return HOOK_METHODS.find((m) => m.toLowerCase() === lower);
}
