import { readFile, stat } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { openFileAuditTrail } from '../../src/audit/file/file-audit-trail.js';
import { fileAuditStore } from '../../src/audit/open-store.js';
import type { AuditStore } from '../../src/audit/store.js';
import { auditEntry } from '../../src/audit/entry.js';
import type { AuditRecord } from '../../src/audit/types.js';
import { metricsRegistry } from '../../src/metrics/metrics.js';
import { cursorFileOf } from '../../src/notify/file-outbox.js';
import { createNotifications } from '../../src/notify/notifications.js';
import { openOutbox } from '../../src/notify/outbox-setup.js';
import type { Outbox } from '../../src/notify/outbox.js';
import { disclosureEntry, memoryLogger, readRecords, tempAuditFile } from '../audit/audit-kit.js';
import { testConfig } from '../helpers/config.js';
import { FakeGraph } from '../helpers/fakes.js';
import { WEBHOOK_SECRET, eventually, startWebhookReceiver, type WebhookReceiver } from './notify-kit.js';

/** The file store's outbox: the trail read forward from a fsynced cursor per channel. */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function openKeyDesk(file: string, receiver: WebhookReceiver, env: Record<string, string> = {}, tuning: { retryMs?: number; pollMs?: number } = {}) {
  const config = testConfig({ AUDIT_FILE: file, NOTIFY_WEBHOOK_URL: receiver.url, NOTIFY_WEBHOOK_SECRET: WEBHOOK_SECRET, NOTIFY_EVENTS: 'disclosure_granted,alert', ...env });
  const { logger } = memoryLogger();
  const store: AuditStore = fileAuditStore(await openFileAuditTrail({ file, hmacKey: null, logger }), file);
  const notifications = createNotifications(config, { graph: new FakeGraph({ devices: [], intune: {}, keys: [], passwords: {} }), logger });
  const outbox = (await openOutbox(store, notifications, config, logger, { pollMs: 20, backoffMs: () => 20, ...tuning }))!;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await outbox.stop();
    await notifications.close();
    await store.close();
  };
  cleanups.push(close);
  return { store, outbox: outbox as Outbox, close };
}

const granted = (ticket: string) => disclosureEntry({ ticket, disclosureId: crypto.randomUUID() });

describe('the file outbox', () => {
  it('delivers a granted disclosure to the webhook, signed, with the record as the event', async () => {
    const file = await tempAuditFile();
    const receiver = await startWebhookReceiver('file-outbox-signed');
    cleanups.push(() => receiver.close());
    const { store, outbox } = await openKeyDesk(file, receiver);
    outbox.start();

    await store.append(auditEntry({ action: 'audit_query', outcome: 'granted', code: null }));
    await store.append(disclosureEntry({ outcome: 'refused', code: 'requester_not_owner' }));
    const record = await store.append(granted('INC0000001'));

    await eventually(() => receiver.received.length === 1);
    const [hook] = receiver.received;
    expect(hook!.verified).toBe(true);
    expect(hook!.headers['keydesk-event-id']).toBe(record.id);
    expect(hook!.body).toEqual({
      id: record.id,
      type: 'disclosure_granted',
      time: record.time,
      auditRecordId: record.id,
      seq: record.seq,
      hash: record.hash,
      device: record.device,
      requesterUpn: record.requesterUpn,
      ticket: 'INC0000001',
      agentUpn: record.agentUpn,
      caller: record.caller,
      disclosureId: record.disclosureId,
    });
    expect(record.disclosureId).toEqual(expect.any(String));
    expect((await stat(cursorFileOf(file, 'webhook'))).mode & 0o777).toBe(0o600);
  });

  it('after a restart delivers each pending notification once: none lost, none repeated', async () => {
    const file = await tempAuditFile();
    const receiver = await startWebhookReceiver('file-outbox-restart');
    cleanups.push(() => receiver.close());

    // KeyDesk writes three disclosures and stops before its outbox delivered any of them.
    const first = await openKeyDesk(file, receiver);
    const pending: AuditRecord[] = [];
    for (const ticket of ['INC1', 'INC2', 'INC3']) pending.push(await first.store.append(granted(ticket)));
    await first.close();
    expect(receiver.received).toHaveLength(0);

    const second = await openKeyDesk(file, receiver);
    second.outbox.start();
    await eventually(() => receiver.received.length === 3);
    await second.close();

    const third = await openKeyDesk(file, receiver);
    third.outbox.start();
    const later = await third.store.append(granted('INC4'));
    await eventually(() => receiver.received.some((hook) => hook.headers['keydesk-event-id'] === later.id));
    await third.close();

    expect(receiver.received.map((hook) => hook.body.ticket)).toEqual(['INC1', 'INC2', 'INC3', 'INC4']);
    expect(receiver.received.map((hook) => hook.headers['keydesk-event-id'])).toEqual([...pending, later].map((record) => record.id));
    expect(JSON.parse(await readFile(cursorFileOf(file, 'webhook'), 'utf8'))).toMatchObject({ seq: later.seq, attempts: 0 });
  });

  it('retries a refused delivery with the same event id, then gives it up with a notification_failed alert', async () => {
    const file = await tempAuditFile();
    const receiver = await startWebhookReceiver('file-outbox-failing');
    cleanups.push(() => receiver.close());
    receiver.status = 500;
    const { store, outbox, close } = await openKeyDesk(file, receiver, {}, { retryMs: 300 });
    outbox.start();

    const record = await store.append(granted('INC0000009'));
    await eventually(async () => (await readRecords(file)).some((r) => r.action === 'alert'));
    const alert = (await readRecords(file)).find((r) => r.action === 'alert')!;
    expect(alert).toMatchObject({
      outcome: 'raised',
      ticket: 'INC0000009',
      details: { rule: 'notification_failed', subject: 'channel:webhook', channel: 'webhook', count: 1, auditRecordIds: [record.id] },
    });
    expect(receiver.received.length).toBeGreaterThan(1);
    expect(new Set(receiver.received.map((hook) => hook.headers['keydesk-event-id']))).toEqual(new Set([record.id]));
    expect(await metricsRegistry.getSingleMetricAsString('keydesk_notification_failures_total')).toMatch(/channel="webhook"} [1-9]/);

    // The channel moves on: the next disclosure is delivered once the receiver is back; the alert
    // about the webhook is not sent to the webhook that failed.
    receiver.status = 204;
    const next = await store.append(granted('INC0000010'));
    await eventually(() => receiver.received.some((hook) => hook.headers['keydesk-event-id'] === next.id));
    await close();
    expect(receiver.received.filter((hook) => hook.headers['keydesk-event-id'] === alert.id)).toHaveLength(0);
  });

  it('sets aside a notification the receiver keeps refusing and goes on with the next, retrying it across a restart', async () => {
    const file = await tempAuditFile();
    const receiver = await startWebhookReceiver('file-outbox-one-refused');
    cleanups.push(() => receiver.close());
    let refuse = true;
    receiver.statusFor = (hook) => (refuse && hook.body.ticket === 'INC-REFUSED' ? 400 : undefined);
    const first = await openKeyDesk(file, receiver, {}, { retryMs: 60_000 });
    first.outbox.start();
    const refused = await first.store.append(granted('INC-REFUSED'));
    const after = await first.store.append(granted('INC-AFTER'));
    await eventually(() => receiver.received.some((hook) => hook.headers['keydesk-event-id'] === after.id));
    expect(receiver.received.filter((hook) => hook.headers['keydesk-event-id'] === refused.id).length).toBeGreaterThanOrEqual(1);
    await first.close();
    expect(JSON.parse(await readFile(cursorFileOf(file, 'webhook'), 'utf8'))).toMatchObject({ seq: after.seq, parked: [{ seq: refused.seq }] });

    // After a restart the one set aside is still retried, and delivered once the receiver takes it.
    refuse = false;
    const second = await openKeyDesk(file, receiver, {}, { retryMs: 60_000 });
    second.outbox.start();
    await eventually(() => receiver.statusFor!(receiver.received.at(-1)!) === undefined && receiver.received.at(-1)!.headers['keydesk-event-id'] === refused.id);
    await second.close();
    expect(JSON.parse(await readFile(cursorFileOf(file, 'webhook'), 'utf8'))).toMatchObject({ seq: after.seq, parked: [] });
    expect(receiver.received.filter((hook) => hook.headers['keydesk-event-id'] === after.id)).toHaveLength(1);
  });

  it('drains a backlog pass after pass without waiting a poll interval between them', async () => {
    const file = await tempAuditFile();
    const receiver = await startWebhookReceiver('file-outbox-backlog');
    cleanups.push(() => receiver.close());
    // A poll a minute apart: a pass delivers at most 20 from the trail, so 60 need three passes.
    const { store, outbox } = await openKeyDesk(file, receiver, {}, { pollMs: 60_000 });
    for (let n = 0; n < 60; n += 1) await store.append(granted(`INC${String(300000 + n)}`));

    outbox.start();
    await eventually(() => receiver.received.length === 60, 20_000);
    expect(receiver.received.map((hook) => (hook.body as { ticket: string }).ticket)).toEqual(Array.from({ length: 60 }, (_, n) => `INC${String(300000 + n)}`));
  });
});
