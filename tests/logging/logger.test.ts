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
    expect(text.match(/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(6);
  });
});
