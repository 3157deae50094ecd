/** Structured JSON logs (Powertools Logger): one line per event, the job id on every job line. */
import { Logger } from '@aws-lambda-powertools/logger';

export function createLogger(service: string): Logger {
  return new Logger({ serviceName: service });
}

export type { Logger };

/** The narrow logging interface the job layer uses, backed by a Powertools Logger. */
export function jobLogger(logger: Logger) {
  return {
    info: (message: string, extra: Record<string, unknown> = {}) => logger.info(message, extra),
    warn: (message: string, extra: Record<string, unknown> = {}) => logger.warn(message, extra),
  };
}
