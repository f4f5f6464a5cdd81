/** The REST door logs with pino (structured fields: `omaSession`, `channel`, `call`, `chat`). */
import pino, { type Logger } from 'pino';

export type DoorLog = Logger;

export const silentLog: DoorLog = pino({ level: 'silent' });
