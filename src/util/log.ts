import { pino, type Logger } from 'pino';

/**
 * The process logger: JSON lines on stdout (pino). The level comes from PORTICO_LOG_LEVEL
 * (trace|debug|info|warn|error|silent), `info` by default.
 */
export function createLogger(bindings: Record<string, unknown> = {}, level?: string): Logger {
  return pino({
    level: level ?? process.env.PORTICO_LOG_LEVEL ?? 'info',
    base: { pid: process.pid, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
