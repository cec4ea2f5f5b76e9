import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import { createEntraTokenVerifier } from '../../src/auth/access-token.js';
import { KeyDeskProblem } from '../../src/problem/problem.js';
import {
  GRAPH_TOKEN_MIN_VALIDITY_MS,
  createReadinessMonitor,
  type ReadinessMonitorOptions,
  type ReadinessTimers,
} from '../../src/health/readiness.js';
import { AUTHORITY, CLIENT_ID, TENANT_ID, makeSigningKey, mockEntraDiscovery, type SigningKey } from '../helpers/entra.js';
import { CLIENT_SECRET, LOGIN, TENANT, captureLog, graphConfig, mockTokenEndpoint, tokenProviderFor } from '../helpers/graph-fixtures.js';

/** A check whose next outcome the test decides; it counts how often it ran. */
function switchableCheck() {
  let failure: Error | null = null;
  let runs = 0;
  return {
    runs: () => runs,
    pass() {
      failure = null;
    },
    fail(error: Error = new KeyDeskProblem('identity_provider_unavailable', 'Entra ID could not be reached.')) {
      failure = error;
    },
    run: async () => {
      runs += 1;
      if (failure) throw failure;
    },
  };
}

/** A promise the test settles. */
function deferred() {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
}

/** Timers that fire only when the test says so. */
function manualTimers() {
  const intervals: Array<{ run: () => void; ms: number; unrefd: boolean; cleared: boolean }> = [];
  const timers: ReadinessTimers = {
    setInterval(run, ms) {
      const interval = { run, ms, unrefd: false, cleared: false };
      intervals.push(interval);
      return {
        unref() {
          interval.unrefd = true;
        },
        interval,
      };
    },
    clearInterval(handle) {
      (handle as { interval: { cleared: boolean } }).interval.cleared = true;
    },
  };
  return { timers, intervals };
}

function monitorWith(overrides: Partial<ReadinessMonitorOptions> = {}) {
  const identityProvider = switchableCheck();
  const graphToken = switchableCheck();
  const log = captureLog();
  let writable = true;
  let auditAsked = 0;
  const { timers, intervals } = manualTimers();
  const monitor = createReadinessMonitor({
    checkIdentityProvider: identityProvider.run,
    checkGraphToken: graphToken.run,
    auditWritable: async () => {
      auditAsked += 1;
      return writable;
    },
    logger: log.logger,
    timers,
    ...overrides,
  });
  return {
    monitor,
    identityProvider,
    graphToken,
    log,
    intervals,
    setWritable: (value: boolean) => void (writable = value),
    auditAsked: () => auditAsked,
  };
}

describe('readiness', () => {
  it('is not ready before the first check completes', async () => {
    const entra = deferred();
    const { monitor } = monitorWith({ checkIdentityProvider: () => entra.promise });

    expect(await monitor.status()).toEqual({ status: 'not_ready', checks: { audit: 'writable', identityProvider: 'pending', graphToken: 'pending' } });
    monitor.start();
    const round = monitor.checkNow();
    expect(await monitor.status()).toMatchObject({ status: 'not_ready', checks: { identityProvider: 'pending' } });

    entra.resolve();
    await round;
    monitor.stop();
    expect(await monitor.status()).toEqual({ status: 'ready', checks: { audit: 'writable', identityProvider: 'ok', graphToken: 'ok' } });
  });

  it.each(['identityProvider', 'graphToken'] as const)('stays ready after one failed %s check and is not ready after the second in a row', async (name) => {
    const setup = monitorWith();
    const check = setup[name];
    await setup.monitor.checkNow();

    check.fail();
    await setup.monitor.checkNow();
    expect(await setup.monitor.status()).toMatchObject({ status: 'ready', checks: { [name]: 'ok' } });

    await setup.monitor.checkNow();
    expect(await setup.monitor.status()).toMatchObject({ status: 'not_ready', checks: { [name]: 'failing' } });
  });

  it('needs two failures in a row: a success in between starts the count again', async () => {
    const { monitor, graphToken } = monitorWith();
    for (const outcome of ['pass', 'fail', 'pass', 'fail', 'pass', 'fail'] as const) {
      graphToken[outcome]();
      await monitor.checkNow();
      expect((await monitor.status()).status).toBe('ready');
    }
  });

  it('is ready again as soon as a failing check passes', async () => {
    const { monitor, identityProvider } = monitorWith();
    identityProvider.fail();
    await monitor.checkNow();
    await monitor.checkNow();
    expect((await monitor.status()).status).toBe('not_ready');

    identityProvider.pass();
    await monitor.checkNow();

    expect(await monitor.status()).toMatchObject({ status: 'ready', checks: { identityProvider: 'ok' } });
  });

  it('stays pending, not ready, when the very first check fails, and is failing after the second', async () => {
    const { monitor, identityProvider } = monitorWith();
    identityProvider.fail();

    await monitor.checkNow();
    expect(await monitor.status()).toMatchObject({ status: 'not_ready', checks: { identityProvider: 'pending', graphToken: 'ok' } });

    await monitor.checkNow();
    expect(await monitor.status()).toMatchObject({ status: 'not_ready', checks: { identityProvider: 'failing' } });
  });

  it('takes as many failures in a row as failuresBeforeNotReady says', async () => {
    const { monitor, graphToken } = monitorWith({ failuresBeforeNotReady: 3 });
    await monitor.checkNow();
    graphToken.fail();
    await monitor.checkNow();
    await monitor.checkNow();
    expect((await monitor.status()).status).toBe('ready');
    await monitor.checkNow();
    expect((await monitor.status()).status).toBe('not_ready');
  });

  it('is not ready while the audit trail is not writable, asking the trail at every status call', async () => {
    const { monitor, setWritable, auditAsked } = monitorWith();
    await monitor.checkNow();

    setWritable(false);
    expect(await monitor.status()).toEqual({ status: 'not_ready', checks: { audit: 'not_writable', identityProvider: 'ok', graphToken: 'ok' } });
    setWritable(true);
    expect(await monitor.status()).toMatchObject({ status: 'ready', checks: { audit: 'writable' } });
    expect(auditAsked()).toBe(2);
  });

  it('takes an audit trail whose check throws as not writable', async () => {
    const { monitor } = monitorWith({ auditWritable: () => Promise.reject(new Error('EIO')) });
    await monitor.checkNow();
    expect(await monitor.status()).toMatchObject({ status: 'not_ready', checks: { audit: 'not_writable' } });
  });
});

describe('readiness schedule', () => {
  it('checks at once on start, then every 30 s on a timer that keeps no process alive, until stopped', async () => {
    const { monitor, identityProvider, graphToken, intervals } = monitorWith();

    monitor.start();
    monitor.start();
    await monitor.checkNow();

    expect(intervals).toHaveLength(1);
    expect(intervals[0]).toMatchObject({ ms: 30_000, unrefd: true, cleared: false });
    expect([identityProvider.runs(), graphToken.runs()]).toEqual([1, 1]);

    intervals[0]!.run();
    await monitor.checkNow();
    expect([identityProvider.runs(), graphToken.runs()]).toEqual([2, 2]);

    monitor.stop();
    expect(intervals[0]!.cleared).toBe(true);
  });

  it('uses the interval it is given', () => {
    const { monitor, intervals } = monitorWith({ intervalMs: 5_000 });
    monitor.start();
    monitor.stop();
    expect(intervals[0]?.ms).toBe(5_000);
  });

  it('starts no second round while one is still running', async () => {
    const entra = deferred();
    let runs = 0;
    const slow = () => {
      runs += 1;
      return entra.promise;
    };
    const { monitor, intervals } = monitorWith({ checkGraphToken: slow });
    monitor.start();
    intervals[0]!.run();
    intervals[0]!.run();
    const round = monitor.checkNow();

    expect(runs).toBe(1);
    entra.resolve();
    await round;
    monitor.stop();
  });
});

describe('readiness log', () => {
  it('logs one warn line naming the check when it starts failing, and one info line when it recovers', async () => {
    const { monitor, graphToken, log } = monitorWith();
    await monitor.checkNow();
    graphToken.fail(new KeyDeskProblem('graph_unavailable', 'Entra ID could not be reached for the token request, so KeyDesk has no Graph token.'));
    for (let i = 0; i < 4; i++) await monitor.checkNow();
    graphToken.pass();
    await monitor.checkNow();
    await monitor.checkNow();

    const lines = log.records().filter((r) => r.level !== 20);
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, msg: 'readiness check failing: graphToken', readiness: expect.objectContaining({ check: 'graphToken', problem: 'graph_unavailable', failuresInARow: 2 }) }),
      expect.objectContaining({ level: 30, msg: 'readiness check recovered: graphToken', readiness: expect.objectContaining({ check: 'graphToken', state: 'ok' }) }),
    ]);
  });

  it('logs only the name of an unexpected error, never its message', async () => {
    const { monitor, identityProvider, log } = monitorWith();
    identityProvider.fail(new TypeError('fetch failed for https://login.example/?client_secret=oops'));
    await monitor.checkNow();
    await monitor.checkNow();

    expect(log.lines.join('\n')).not.toContain('oops');
    expect(log.records().find((r) => r.level === 40)).toMatchObject({ readiness: { check: 'identityProvider', problem: 'TypeError' } });
  });
});

describe('readiness against Entra (nock)', () => {
  let tenantKey: SigningKey;
  beforeAll(async () => {
    tenantKey = await makeSigningKey();
  });
  beforeEach(() => {
    nock.disableNetConnect();
  });
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });

  function monitorOnEntra() {
    const log = captureLog();
    const verifier = createEntraTokenVerifier({ authorityHost: AUTHORITY, tenantId: TENANT_ID, audiences: [`api://${CLIENT_ID}`] });
    const graphTokens = tokenProviderFor(graphConfig(), log.logger);
    const monitor = createReadinessMonitor({
      checkIdentityProvider: () => verifier.checkIdentityProvider(),
      checkGraphToken: () => graphTokens.ensureTokenValidFor(GRAPH_TOKEN_MIN_VALIDITY_MS),
      auditWritable: async () => true,
      logger: log.logger,
      timers: manualTimers().timers,
    });
    return { monitor, log };
  }

  it("is ready when Entra serves the tenant's OpenID configuration and a Graph token", async () => {
    mockEntraDiscovery([tenantKey]);
    mockTokenEndpoint();
    const { monitor } = monitorOnEntra();
    await monitor.checkNow();
    expect(await monitor.status()).toEqual({ status: 'ready', checks: { audit: 'writable', identityProvider: 'ok', graphToken: 'ok' } });
  });

  it("is not ready after Entra's OpenID configuration failed twice, and ready once it answers again", async () => {
    mockTokenEndpoint();
    nock(AUTHORITY).get(/openid-configuration/).times(4).reply(503, 'busy');
    const { monitor } = monitorOnEntra();
    await monitor.checkNow();
    await monitor.checkNow();
    expect(await monitor.status()).toMatchObject({ status: 'not_ready', checks: { identityProvider: 'failing', graphToken: 'ok' } });

    mockEntraDiscovery([tenantKey]);
    await monitor.checkNow();
    expect(await monitor.status()).toMatchObject({ status: 'ready', checks: { identityProvider: 'ok' } });
  });

  it("is not ready when Entra refuses KeyDesk's client secret, and logs neither the secret nor Entra's error description", async () => {
    mockEntraDiscovery([tenantKey]);
    nock(LOGIN)
      .post(`/${TENANT}/oauth2/v2.0/token`)
      .query(true)
      .times(2)
      .reply(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided. Trace ID: 0c1e', error_codes: [7000215] });
    const { monitor, log } = monitorOnEntra();
    await monitor.checkNow();
    await monitor.checkNow();

    expect(await monitor.status()).toMatchObject({ status: 'not_ready', checks: { identityProvider: 'ok', graphToken: 'failing' } });
    expect(log.records().find((r) => r.msg === 'readiness check failing: graphToken')).toMatchObject({ readiness: { problem: 'graph_permission_missing' } });
    const written = log.lines.join('\n');
    expect(written).not.toContain('Invalid client secret provided');
    expect(written).not.toContain(CLIENT_SECRET);
  });
});
