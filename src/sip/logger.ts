/**
 * The logging surface the SIP stack needs. pino's Logger satisfies it, so the gateway passes its
 * own; tests and library users may pass `silentLogger`. Fields are structured (`{ peer, callId,
 * branch }`), messages short.
 */
export interface SipLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): SipLogger;
}

const noop = (): void => {};

export const silentLogger: SipLogger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};
