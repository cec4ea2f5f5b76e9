import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import { fakeRecoveryPassword } from '../helpers/recovery-password.js';

describe('service log redaction (the second line of defence)', () => {
  it('masks a recovery password and credentials wherever a careless log call puts them', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    const password = fakeRecoveryPassword();
    logger.info({ key: password, recoveryPassword: password }, 'top level');
    logger.info({ granted: { recoveryKey: { id: 'k', key: password } } }, 'nested');
    logger.info({ disclosure: { recoveryKey: { key: password } }, req: { headers: { authorization: 'Bearer abc.def.ghi', cookie: 'sid=1' } } }, 'request');
    const text = lines.join('');
    expect(text).not.toContain(password);
    expect(text).not.toContain('abc.def.ghi');
    expect(text).not.toContain('sid=1');
    expect(text.match(/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(4);
  });

  it('logs a request by its path only: no query string (search terms, Entra codes and states), no headers', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    logger.info({ req: { method: 'GET', url: '/auth/callback?code=SECRET-CODE&state=STATE-VALUE&error_description=AADSTS50011', ip: '203.0.113.9', headers: { cookie: 'keydesk_session=abc' } } }, 'incoming request');
    logger.info({ req: { method: 'GET', url: '/api/v1/devices?prefix=LAPTOP-ANN', ip: '203.0.113.9' } }, 'incoming request');
    const [callback, search] = lines.map((line) => JSON.parse(line) as { req: Record<string, unknown> });
    expect(callback!.req).toEqual({ method: 'GET', path: '/auth/callback', remoteAddress: '203.0.113.9' });
    expect(search!.req.path).toBe('/api/v1/devices');
    expect(lines.join('')).not.toMatch(/SECRET-CODE|STATE-VALUE|AADSTS50011|LAPTOP-ANN|keydesk_session/);
  });
});
