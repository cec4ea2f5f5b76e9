import { describe, expect, it } from 'vitest';
import { MINIMAL_ENV, configProblems, testConfig } from '../helpers/config.js';

const SECRET = 'x'.repeat(32);

describe('notification configuration', () => {
  it('sends granted disclosures only, retries for 24 hours and waits 5 s for a required channel by default', () => {
    expect(testConfig().notify).toEqual({ events: ['disclosure_granted'], retryHours: 24, requiredTimeoutMs: 5000, webhook: null, email: null });
  });

  it('reads the webhook and the email channel', () => {
    const { notify } = testConfig({
      NOTIFY_EVENTS: 'alert, disclosure_refused',
      NOTIFY_WEBHOOK_URL: 'https://hooks.contoso.com/keydesk',
      NOTIFY_WEBHOOK_SECRET: SECRET,
      NOTIFY_WEBHOOK_FORMAT: 'teams',
      NOTIFY_WEBHOOK_REQUIRED: 'true',
      SMTP_URL: 'smtps://keydesk:pw@smtp.contoso.com',
      NOTIFY_EMAIL_FROM: 'keydesk@contoso.com',
      NOTIFY_EMAIL_TO: 'security@contoso.com, soc@contoso.com',
      NOTIFY_OWNERS: 'off',
    });
    expect(notify.events).toEqual(['disclosure_refused', 'alert']);
    expect(notify.webhook).toEqual({ url: 'https://hooks.contoso.com/keydesk', secret: SECRET, format: 'teams', required: true });
    expect(notify.email).toMatchObject({ from: 'keydesk@contoso.com', to: ['security@contoso.com', 'soc@contoso.com'], owners: false, required: false, ca: null });
  });

  it('names each bad variable and how to fix it', () => {
    const problems = configProblems({
      ...MINIMAL_ENV,
      NOTIFY_EVENTS: 'disclosure_granted,everything',
      NOTIFY_WEBHOOK_URL: 'ftp://hooks.contoso.com/keydesk?token=abc',
      NOTIFY_WEBHOOK_SECRET: 'short',
      SMTP_URL: 'http://smtp.contoso.com',
      NOTIFY_EMAIL_TO: 'not-an-address',
      NOTIFY_RETRY_HOURS: '0',
    });
    const about = (name: string) => problems.filter((problem) => problem.startsWith(name));
    expect(about('NOTIFY_EVENTS')[0]).toContain('"everything"');
    expect(about('NOTIFY_WEBHOOK_URL=')[0]).toContain('https://');
    expect(about('NOTIFY_WEBHOOK_URL=')[0]).not.toContain('abc');
    // A short secret is taken, with a start-up warning.
    expect(about('NOTIFY_WEBHOOK_SECRET')).toEqual([]);
    expect(about('SMTP_URL')[0]).toContain('smtps://');
    expect(about('NOTIFY_EMAIL_TO')[0]).toContain('"not-an-address"');
    expect(about('NOTIFY_EMAIL_FROM')[0]).toContain('missing');
    expect(about('NOTIFY_RETRY_HOURS')).toHaveLength(1);
  });

  it('allows http:// to a loopback webhook, and to another host (start-up warns about that)', () => {
    expect(configProblems({ ...MINIMAL_ENV, NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:9000/hook', NOTIFY_WEBHOOK_SECRET: SECRET })).toEqual([]);
    expect(configProblems({ ...MINIMAL_ENV, NOTIFY_WEBHOOK_URL: 'http://webhook-receiver:9000/hook', NOTIFY_WEBHOOK_SECRET: SECRET })).toEqual([]);
  });

  it('refuses to start with a required channel that is not configured', () => {
    const problems = configProblems({ ...MINIMAL_ENV, NOTIFY_WEBHOOK_REQUIRED: 'true', NOTIFY_EMAIL_REQUIRED: 'true' });
    expect(problems.some((problem) => problem.startsWith('NOTIFY_WEBHOOK_REQUIRED=true but NOTIFY_WEBHOOK_URL is not set'))).toBe(true);
    expect(problems.some((problem) => problem.startsWith('NOTIFY_EMAIL_REQUIRED=true but SMTP_URL is not set'))).toBe(true);
  });
});
