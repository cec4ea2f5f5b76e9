import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestTenant, type TestTenant } from './tenant-kit.js';

let sim: TestTenant;
let token: string;
beforeAll(async () => {
  sim = await startTestTenant();
  token = await sim.graphToken();
});
afterAll(() => sim.close());
afterEach(() => {
  sim.tenant.knobs.reset();
  sim.tenant.clearLogs();
});

const devices = () => sim.graph('devices?$top=1', { token });

describe('knobs', () => {
  it('throttles the next N Graph requests with 429 TooManyRequests and Retry-After, then answers again', async () => {
    sim.tenant.knobs.throttle({ requests: 2, retryAfterSeconds: 3 });
    const first = await devices();
    const second = await devices();
    const third = await devices();
    expect([first.status, second.status, third.status]).toEqual([429, 429, 200]);
    expect(first.headers['retry-after']).toBe('3');
    expect(first.json()).toMatchObject({ error: { code: 'TooManyRequests' } });
    expect(sim.tenant.graphRequests.map((r) => r.fault ?? null)).toEqual(['throttled', 'throttled', null]);
  });

  it('throttles every Graph request within a period', async () => {
    sim.tenant.knobs.throttle({ forMs: 300, retryAfterSeconds: 1 });
    expect((await devices()).status).toBe(429);
    expect((await devices()).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await devices()).status).toBe(200);
  });

  it('fails the next N requests with 503, or 504 when asked, with Retry-After only when given', async () => {
    sim.tenant.knobs.failNext({ requests: 1 });
    const unavailable = await devices();
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers['retry-after']).toBeUndefined();
    sim.tenant.knobs.failNext({ requests: 1, status: 504, retryAfterSeconds: 2 });
    const timeout = await devices();
    expect(timeout.status).toBe(504);
    expect(timeout.headers['retry-after']).toBe('2');
    expect((await devices()).status).toBe(200);
  });

  it('delays the next N requests by the given time, and only those', async () => {
    sim.tenant.knobs.slowNext({ requests: 1, delayMs: 250 });
    let started = performance.now();
    expect((await devices()).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
    started = performance.now();
    await devices();
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('adds latency to every Graph and token response until reset', async () => {
    sim.tenant.knobs.setLatency(120);
    let started = performance.now();
    await devices();
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    started = performance.now();
    await sim.graphToken();
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    sim.tenant.knobs.reset();
    started = performance.now();
    await devices();
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('logs each Graph request with its path, decoded query, status, client-request-id and User-Agent', async () => {
    await sim.graph("devices?$filter=displayName%20eq%20'R%26D-PC%231%2B2'", { token, headers: { 'client-request-id': 'c0ffee00-0000-4000-8000-000000000000', 'ocp-client-name': 'KeyDesk' } });
    expect(sim.tenant.graphRequests).toMatchObject([
      {
        method: 'GET',
        path: '/v1.0/devices',
        query: { $filter: "displayName eq 'R&D-PC#1+2'" },
        status: 200,
        clientRequestId: 'c0ffee00-0000-4000-8000-000000000000',
        userAgent: 'KeyDesk-tests/1.0',
        clientName: 'KeyDesk',
        appId: sim.tenant.keydeskApp.clientId,
      },
    ]);
    sim.tenant.clearLogs();
    expect(sim.tenant.graphRequests).toEqual([]);
  });

  it('keeps counting round trips after the log drops its oldest entries', async () => {
    const small = await startTestTenant({ maxLogEntries: 8 });
    try {
      const smallToken = await small.graphToken();
      for (let i = 0; i < 10; i++) await small.graph('devices?$top=1', { token: smallToken });
      expect(small.tenant.graphRequests.length).toBeLessThanOrEqual(8);
      expect(small.tenant.counters()).toMatchObject({ graphRoundTrips: 10, graphRequests: 10, tokenRequests: 1 });
      small.tenant.clearLogs();
      expect(small.tenant.counters().graphRoundTrips).toBe(0);
    } finally {
      await small.close();
    }
  });

  it('rejects nonsense knob settings instead of ignoring them', () => {
    expect(() => sim.tenant.knobs.throttle({ retryAfterSeconds: 1 })).toThrow(TypeError);
    expect(() => sim.tenant.knobs.setLatency(-1)).toThrow(RangeError);
    expect(() => sim.tenant.knobs.failNext({ requests: 1.5 })).toThrow(RangeError);
  });
});
