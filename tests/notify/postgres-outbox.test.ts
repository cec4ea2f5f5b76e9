import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { runtimeGrants } from '../../src/audit/postgres/migrations.js';
import { openPostgresAuditStore } from '../../src/audit/postgres/open.js';
import { prepareAuditSchema } from '../../src/audit/postgres/schema.js';
import type { AuditRecord } from '../../src/audit/types.js';
import { auditEntry } from '../../src/audit/entry.js';
import { createNotifications } from '../../src/notify/notifications.js';
import { openOutbox } from '../../src/notify/outbox-setup.js';
import { disclosureEntry, memoryLogger } from '../audit/audit-kit.js';
import { testConfig } from '../helpers/config.js';
import { FakeGraph } from '../helpers/fakes.js';
import { createTestDatabase, type TestDatabase } from '../postgres/pg-kit.js';
import { WEBHOOK_SECRET, eventually, startWebhookReceiver, type WebhookReceiver } from './notify-kit.js';

/** The PostgreSQL outbox: rows written with the records, claimed by one instance at a time. */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function database(): Promise<{ db: TestDatabase; runtimeUrl: string }> {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  await prepareAuditSchema(db.url, memoryLogger().logger);
  const runtime = await db.createRole('runtime');
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(runtimeGrants(runtime));
  await client.end();
  return { db, runtimeUrl: db.urlAs(runtime) };
}

async function instance(url: string, receiver: WebhookReceiver, pollMs = 20) {
  const config = testConfig({ AUDIT_STORE: 'postgres', DATABASE_URL: url, NOTIFY_WEBHOOK_URL: receiver.url, NOTIFY_WEBHOOK_SECRET: WEBHOOK_SECRET });
  const { logger } = memoryLogger();
  const store = await openPostgresAuditStore(config.database!, { hmacKey: null, logger });
  const notifications = createNotifications(config, { graph: new FakeGraph({ devices: [], intune: {}, keys: [], passwords: {} }), logger });
  const outbox = (await openOutbox(store, notifications, config, logger, { pollMs, backoffMs: () => 20 }))!;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await outbox.stop();
    await notifications.close();
    await store.close();
  };
  cleanups.push(close);
  return { store, outbox, close };
}

async function outboxRows(url: string): Promise<{ channel: string; seq: string; state: string }[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ channel: string; seq: string; state: string }>('SELECT channel, seq, state FROM keydesk.outbox ORDER BY seq')).rows;
  } finally {
    await client.end();
  }
}

const granted = (ticket: string) => disclosureEntry({ ticket, disclosureId: crypto.randomUUID() });

describe('the PostgreSQL outbox', () => {
  it('queues a row with the record, only for the channels that want it, and marks it delivered', async () => {
    const { db, runtimeUrl } = await database();
    const receiver = await startWebhookReceiver('pg-outbox-rows');
    cleanups.push(() => receiver.close());
    const keydesk = await instance(runtimeUrl, receiver);

    await keydesk.store.append(auditEntry({ action: 'audit_query', outcome: 'granted', code: null }));
    const record = await keydesk.store.append(granted('INC0000100'));
    expect(await outboxRows(db.url)).toEqual([{ channel: 'webhook', seq: String(record.seq), state: 'pending' }]);

    keydesk.outbox.start();
    await eventually(() => receiver.received.length === 1);
    expect(receiver.received[0]).toMatchObject({ verified: true, headers: { 'keydesk-event-id': record.id }, body: { id: record.id, type: 'disclosure_granted', seq: record.seq } });
    await eventually(async () => (await outboxRows(db.url))[0]?.state === 'delivered');
  });

  it('after a restart delivers each pending notification once', async () => {
    const { runtimeUrl } = await database();
    const receiver = await startWebhookReceiver('pg-outbox-restart');
    cleanups.push(() => receiver.close());

    const first = await instance(runtimeUrl, receiver);
    const pending: AuditRecord[] = [];
    for (const ticket of ['INC1', 'INC2', 'INC3']) pending.push(await first.store.append(granted(ticket)));
    await first.close();

    const second = await instance(runtimeUrl, receiver);
    second.outbox.start();
    await eventually(() => receiver.received.length === 3);
    await second.close();

    const third = await instance(runtimeUrl, receiver);
    third.outbox.start();
    const later = await third.store.append(granted('INC4'));
    await eventually(() => receiver.received.some((hook) => hook.headers['keydesk-event-id'] === later.id));
    await third.close();
    expect(receiver.received.map((hook) => hook.headers['keydesk-event-id']).sort()).toEqual([...pending, later].map((record) => record.id).sort());
  });

  it('two instances on one database deliver each notification once between them', async () => {
    const { runtimeUrl } = await database();
    const receiver = await startWebhookReceiver('pg-outbox-two');
    cleanups.push(() => receiver.close());
    const [a, b] = [await instance(runtimeUrl, receiver), await instance(runtimeUrl, receiver)];
    a.outbox.start();
    b.outbox.start();

    const records = await Promise.all(Array.from({ length: 30 }, (_, n) => (n % 2 === 0 ? a : b).store.append(granted(`INC${n}`))));
    await eventually(() => receiver.received.length >= records.length);
    await a.close();
    await b.close();
    expect(receiver.received.map((hook) => hook.headers['keydesk-event-id']).sort()).toEqual(records.map((record) => record.id).sort());
  });

  it('drains a backlog pass after pass without waiting a poll interval between them', async () => {
    const { db, runtimeUrl } = await database();
    const receiver = await startWebhookReceiver('pg-outbox-backlog');
    cleanups.push(() => receiver.close());
    // A poll a minute apart: a pass delivers at most 200, so a backlog of 450 needs three passes.
    const keydesk = await instance(runtimeUrl, receiver, 60_000);
    await Promise.all(Array.from({ length: 450 }, (_, n) => keydesk.store.append(granted(`INC${String(200000 + n)}`))));

    keydesk.outbox.start();
    await eventually(() => receiver.received.length === 450, 20_000);
    await eventually(async () => (await outboxRows(db.url)).every((row) => row.state === 'delivered'));
  });
});
