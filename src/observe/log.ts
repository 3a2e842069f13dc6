import pino, { type Logger } from 'pino';

/** Operational log (stderr): start, reload, dependency outages. Never audit, never secrets. */
export function createLogger(level: string = process.env.GATEHOUSE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { type: 'log' }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 2, sync: true }));
}
