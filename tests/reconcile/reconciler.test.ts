import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/audit/types.js';
import { MINUTE, reconcileBench } from './reconcile-kit.js';

/**
 * The reconciliation's rules on both stores (the file beside AUDIT_FILE, PostgreSQL's tables):
 * which Entra reads are KeyDesk's, which are out of band (reported once, however many runs and
 * instances), which granted disclosures Entra does not show after the grace period.
 */

const KEY_A = 'b465e4e8-0f1d-4c3b-9a8e-7d6c5b4a3f21';
const KEY_B = '0c9a7d5e-2b41-4f63-8e1d-6a5b4c3d2e1f';

describe.each(['file', 'postgres'] as const)('reconciliation on the %s store', (kind) => {
  it("ties KeyDesk's read to its intent, flags a portal read and another app's read, and reports each once across runs and instances", async () => {
    const bench = await reconcileBench(kind);
    const ours = await bench.disclose(KEY_A);
    bench.entra.add({ at: bench.clock.now + 2_000, keyId: KEY_A, correlationId: ours.clientRequestId });
    bench.entra.devices.set(KEY_B, 'dev-portal');
    const portal = bench.entra.add({ at: bench.clock.now + 3 * MINUTE, keyId: KEY_B, upn: 'eve@contoso.example', displayName: `BitLocker Key ID: ${KEY_B}` });
    const script = bench.entra.add({ at: bench.clock.now + 4 * MINUTE, keyId: KEY_A, appId: randomUUID() });
    bench.clock.now += 15 * MINUTE;

    const first = await bench.instance();
    expect(await first.reconciler.run()).toMatchObject({ status: 'done', run: { error: null, events: 3, newEvents: 3, outOfBand: 2 } });
    bench.clock.now += 15 * MINUTE;
    expect(await first.reconciler.run()).toMatchObject({ status: 'done', run: { events: 3, newEvents: 0, outOfBand: 0 } });
    // Another instance (or KeyDesk restarted) over the same store: nothing is reported again.
    const second = await bench.instance();
    expect(await second.reconciler.run()).toMatchObject({ status: 'done', run: { events: 3, newEvents: 0 } });

    const report = await second.reconciler.report({});
    expect(report.outOfBand.map((read) => read.entraEventId).sort()).toEqual([portal, script].sort());
    expect(report.outOfBand.find((read) => read.entraEventId === portal)).toMatchObject({
      keyId: KEY_B,
      deviceId: 'dev-portal',
      deviceName: 'LAPTOP-PORTAL',
      initiatedBy: { kind: 'user', userPrincipalName: 'eve@contoso.example' },
    });
    expect(report.missingInEntra).toEqual([]);

    const { records } = await bench.audit.query({ action: 'out_of_band_read' });
    expect(records.map((record) => record.details?.entraEventId).sort()).toEqual([portal, script].sort());
    expect(records.find((record) => record.details?.entraEventId === portal)).toMatchObject({ outcome: 'observed', recoveryKeyId: KEY_B, device: { deviceId: 'dev-portal', displayName: 'LAPTOP-PORTAL' } });
    const alerts = (await bench.audit.query({ action: 'alert' })).records;
    expect(alerts.map((alert) => alert.details?.rule)).toEqual(['out_of_band_read', 'out_of_band_read']);
    expect(report.outOfBand.map((read) => read.reportedRecordId).sort()).toEqual(records.map((record) => record.id).sort());
  });

  it('overlaps each window with the previous one by an hour', async () => {
    const bench = await reconcileBench(kind);
    const { reconciler } = await bench.instance();
    await reconciler.run();
    const firstEnd = bench.clock.now;
    bench.clock.now += 15 * MINUTE;
    await reconciler.run();
    expect(bench.entra.windows[1]).toEqual({ from: new Date(firstEnd - 60 * MINUTE).toISOString(), to: new Date(bench.clock.now).toISOString() });
  });

  it('reports a granted disclosure with no Entra event as missing in Entra only once the grace period is over', async () => {
    const bench = await reconcileBench(kind);
    const { reconciler } = await bench.instance({ graceMinutes: 60 });
    const seen = await bench.disclose(KEY_A);
    bench.entra.add({ at: bench.clock.now + 1_000, keyId: KEY_A });
    bench.clock.now += 60_000;
    const unseen = await bench.disclose(KEY_B);
    await bench.disclose(KEY_B, { outcome: 'failed' });

    bench.clock.now += 30 * MINUTE;
    await reconciler.run();
    expect((await reconciler.report({})).missingInEntra).toEqual([]);

    bench.clock.now += 45 * MINUTE;
    await reconciler.run();
    const report = await reconciler.report({});
    expect(report.missingInEntra).toEqual([{ disclosureId: unseen.disclosureId, auditRecordId: unseen.grantedRecordId, time: expect.any(String), recoveryKeyId: KEY_B }]);
    expect(report.missingInEntra.map((missing) => missing.disclosureId)).not.toContain(seen.disclosureId);
    expect(report.outOfBand).toEqual([]);
  });

  it('counts a read for an intent whose disclosure never finished, but takes a second read, or one over 10 minutes late, as out of band', async () => {
    const bench = await reconcileBench(kind);
    const died = await bench.disclose(KEY_A, { outcome: null });
    const matched = bench.entra.add({ at: bench.clock.now + 5_000, keyId: KEY_A });
    const again = bench.entra.add({ at: bench.clock.now + 6_000, keyId: KEY_A });
    const late = bench.entra.add({ at: bench.clock.now + 11 * MINUTE, keyId: KEY_A });
    bench.clock.now += 20 * MINUTE;

    const { reconciler } = await bench.instance();
    await reconciler.run();
    const report = await reconciler.report({});
    expect(report.outOfBand.map((read) => read.entraEventId).sort()).toEqual([again, late].sort());
    expect(report.outOfBand.map((read) => read.entraEventId)).not.toContain(matched);
    expect(died.grantedRecordId).toBeNull();
  });

  it("takes KeyDesk's retried key read, which carries the same client-request-id, as the same disclosure and not as out of band", async () => {
    const bench = await reconcileBench(kind);
    const ours = await bench.disclose(KEY_A);
    bench.entra.add({ at: bench.clock.now + 1_000, keyId: KEY_A, correlationId: ours.clientRequestId });
    const retried = bench.entra.add({ at: bench.clock.now + 3_000, keyId: KEY_A, correlationId: ours.clientRequestId.toUpperCase() });
    // A second disclosure of the same key a moment later keeps its own read.
    bench.clock.now += 10_000;
    const next = await bench.disclose(KEY_A);
    bench.entra.add({ at: bench.clock.now + 1_000, keyId: KEY_A, correlationId: next.clientRequestId });
    bench.clock.now += 90 * MINUTE;

    const { reconciler } = await bench.instance();
    expect(await reconciler.run()).toMatchObject({ status: 'done', run: { events: 3, newEvents: 3, outOfBand: 0 } });
    const report = await reconciler.report({});
    expect(report.outOfBand).toEqual([]);
    expect(report.missingInEntra).toEqual([]);
    expect((await bench.audit.query({ action: 'out_of_band_read' })).records).toEqual([]);
    const stored = (await (await bench.instance()).store.keyReads({})).find((read) => read.entraEventId === retried);
    expect(stored).toMatchObject({ matchedDisclosureId: null, retryOfDisclosureId: ours.disclosureId });
  });

  it('finishes a report a run could not finish, with one observation and one alert', async () => {
    const bench = await reconcileBench(kind);
    const portal = bench.entra.add({ at: bench.clock.now + MINUTE, keyId: KEY_B, upn: 'eve@contoso.example' });
    bench.clock.now += 15 * MINUTE;
    // The alert cannot be written (say the database went away between the two records).
    const failing = new Proxy(bench.audit, {
      get(target, name) {
        if (name === 'append') return (entry: AuditEntry) => (entry.action === 'alert' ? Promise.reject(new Error('connection lost')) : target.append(entry));
        const value: unknown = Reflect.get(target, name, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const broken = await bench.instance({ audit: failing });
    expect(await broken.reconciler.run()).toMatchObject({ status: 'done', run: { error: expect.stringContaining('internal_error') } });
    expect((await bench.audit.query({ action: 'out_of_band_read' })).records).toHaveLength(1);
    expect((await bench.audit.query({ action: 'alert' })).records).toEqual([]);
    // A run that died holding the claim leaves it claimed.
    await broken.store.claimReport(portal);

    bench.clock.now += 15 * MINUTE;
    const healthy = await bench.instance();
    await healthy.reconciler.run();
    await healthy.reconciler.run();
    const observed = (await bench.audit.query({ action: 'out_of_band_read' })).records;
    const alerts = (await bench.audit.query({ action: 'alert' })).records;
    expect(observed.map((record) => record.details?.entraEventId)).toEqual([portal]);
    expect(alerts.map((record) => record.details?.outOfBandRecordId)).toEqual([observed[0]!.id]);
    expect((await healthy.reconciler.report({})).outOfBand).toEqual([expect.objectContaining({ entraEventId: portal, reportedRecordId: observed[0]!.id })]);
  });

  it('judges nothing in a stretch it could not read after stopping for longer than Entra keeps events', async () => {
    const bench = await reconcileBench(kind);
    const { reconciler } = await bench.instance({ graceMinutes: 60 });
    await reconciler.run();
    const DAY = 24 * 60 * MINUTE;
    bench.clock.now += 5 * DAY;
    const unreadable = await bench.disclose(KEY_A);
    bench.clock.now += 30 * DAY;
    const unseen = await bench.disclose(KEY_B);
    bench.clock.now += 2 * 60 * MINUTE;
    await reconciler.run();

    const report = await reconciler.report({});
    expect(report.coveredSpans).toHaveLength(2);
    expect(Date.parse(report.coveredSpans[1]!.from)).toBeGreaterThan(Date.parse(report.coveredSpans[0]!.to));
    expect(report.missingInEntra.map((missing) => missing.disclosureId)).toEqual([unseen.disclosureId]);
    expect(report.missingInEntra.map((missing) => missing.disclosureId)).not.toContain(unreadable.disclosureId);
  });

  it('runs one reconciliation at a time across instances', async () => {
    const bench = await reconcileBench(kind);
    const one = await bench.instance();
    const results = await Promise.all([one.reconciler.run(), one.reconciler.run()]);
    expect(results.map((result) => result.status).sort()).toEqual(['already_running', 'done']);
    if (kind === 'postgres') {
      const other = await bench.instance();
      expect(await one.store.beginRun(new Date(bench.clock.now).toISOString(), new Date(bench.clock.now - 30 * MINUTE).toISOString())).toBe(true);
      expect(await other.reconciler.run()).toEqual({ status: 'already_running' });
      expect(await other.reconciler.start()).toBe('already_running');
    }
  });
});
