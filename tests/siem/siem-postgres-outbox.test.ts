import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { runtimeGrants } from '../../src/audit/postgres/migrations.js';
import { openPostgresAuditStore } from '../../src/audit/postgres/open.js';
import { prepareAuditSchema } from '../../src/audit/postgres/schema.js';
import { auditEntry } from '../../src/audit/entry.js';
import { createNotifications } from '../../src/notify/notifications.js';
import { openOutbox } from '../../src/notify/outbox-setup.js';
import { disclosureEntry, memoryLogger } from '../audit/audit-kit.js';
import { testConfig } from '../helpers/config.js';
import { FakeGraph } from '../helpers/fakes.js';
import { freePort } from '../helpers/net.js';
import { createTestDatabase } from '../postgres/pg-kit.js';
import { SyslogListener } from './syslog-listener.js';

/** The SIEM channel on the PostgreSQL store: every record gets an outbox row, and a receiver that is down gets it later. */

const cleanUps: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanUp of cleanUps.splice(0).reverse()) await cleanUp();
});

async function runtimeDatabaseUrl(): Promise<string> {
  const db = await createTestDatabase();
  cleanUps.push(() => db.drop());
  await prepareAuditSchema(db.url, memoryLogger().logger);
  const runtime = await db.createRole('runtime');
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(runtimeGrants(runtime));
  await client.end();
  return db.urlAs(runtime);
}

async function keyDesk(databaseUrl: string, syslogPort: number) {
  const config = testConfig({ AUDIT_STORE: 'postgres', DATABASE_URL: databaseUrl, SIEM_SYSLOG_URL: `tcp://127.0.0.1:${syslogPort}` });
  const { logger } = memoryLogger();
  const store = await openPostgresAuditStore(config.database!, { hmacKey: null, logger });
  const notifications = createNotifications(config, { graph: new FakeGraph({ devices: [], intune: {}, keys: [], passwords: {} }), logger });
  const outbox = (await openOutbox(store, notifications, config, logger, { pollMs: 20, backoffMs: () => 50 }))!;
  cleanUps.push(async () => {
    await outbox.stop();
    await notifications.close();
    await store.close();
  });
  outbox.start();
  return store;
}

describe('SIEM forwarding on the PostgreSQL store', () => {
  it('forwards every record, and keeps the ones a receiver that is down missed until it is back, each once', async () => {
    const port = await freePort();
    const store = await keyDesk(await runtimeDatabaseUrl(), port);
    const appended = [
      await store.append(disclosureEntry({ action: 'disclosure_intent', outcome: 'pending' })),
      await store.append(disclosureEntry()),
      await store.append(auditEntry({ action: 'audit_query', outcome: 'granted', code: null, details: { filters: {}, rowCount: 2 } })),
    ];

    const listener = await SyslogListener.start(undefined, port);
    cleanUps.push(() => listener.stop());
    const messages = await listener.received(3);
    // Retries may reorder what a SIEM receives; metadata.sequence gives the trail's order back.
    expect(messages.map((message) => (JSON.parse(message.msg) as { metadata: { uid: string } }).metadata.uid).sort()).toEqual(appended.map((record) => record.id).sort());
    expect(messages.map((message) => message.msgId).sort()).toEqual(['audit_query', 'disclosure', 'disclosure_intent']);

    const later = await store.append(auditEntry({ action: 'sign_out', outcome: 'granted', code: null }));
    const all = await listener.received(4);
    expect((JSON.parse(all[3]!.msg) as { metadata: { uid: string } }).metadata.uid).toBe(later.id);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(listener.messages).toHaveLength(4);
  });
});
