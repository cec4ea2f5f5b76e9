import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * The service log. Nothing that reaches it should hold a secret in the first place; redaction is
 * the second line of defence for what slips through (a header, a body logged by mistake).
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'authorization',
  'accessToken',
  'access_token',
  'clientSecret',
  'client_secret',
  'key',
  'recoveryPassword',
  'recoveryKey.key',
  '*.key',
  '*.*.key',
  '*.recoveryKey.key',
  '*.recoveryPassword',
  '*.accessToken',
  '*.access_token',
  '*.client_secret',
  '*.clientSecret',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'keydesk' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
