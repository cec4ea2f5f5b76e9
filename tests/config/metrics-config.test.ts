import { describe, expect, it } from 'vitest';
import { MINIMAL_ENV, configProblems as problemsOf, testConfig } from '../helpers/config.js';

const configProblems = (env: Record<string, string>) => problemsOf({ ...MINIMAL_ENV, ...env });

const TOKEN = 'a-metrics-token-of-at-least-32-characters';

describe('METRICS_TOKEN, METRICS_PORT, METRICS_HOST', () => {
  it('turns both off by default', () => {
    expect(testConfig().metrics).toEqual({ token: null, listener: null });
  });

  it('reads a token and a listener, on loopback unless told otherwise', () => {
    expect(testConfig({ METRICS_TOKEN: TOKEN, METRICS_PORT: '9464' }).metrics).toEqual({ token: TOKEN, listener: { host: '127.0.0.1', port: 9464 } });
    expect(testConfig({ METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0' }).metrics.listener).toEqual({ host: '0.0.0.0', port: 9464 });
  });

  it('takes a short token (start-up warns about it: the issue sets no minimum)', () => {
    expect(configProblems({ METRICS_TOKEN: 'short' })).toEqual([]);
  });

  it('refuses a token with spaces in it', () => {
    expect(configProblems({ METRICS_TOKEN: `${TOKEN} and more` }).join('\n')).toMatch(/^METRICS_TOKEN has spaces/m);
  });

  it('refuses a METRICS_PORT that is not a port, or that is PORT', () => {
    expect(configProblems({ METRICS_PORT: '70000' }).join('\n')).toMatch(/^METRICS_PORT="70000" is not valid: .*\(a whole number from 1 to 65535\)/m);
    expect(configProblems({ METRICS_PORT: 'abc' }).join('\n')).toMatch(/^METRICS_PORT="abc" is not valid/m);
    expect(configProblems({ PORT: '8080', METRICS_PORT: '8080' }).join('\n')).toMatch(/^METRICS_PORT=8080 is PORT as well/m);
    expect(configProblems({ METRICS_PORT: '8080' }).join('\n')).toMatch(/^METRICS_PORT=8080 is PORT as well/m);
  });
});
