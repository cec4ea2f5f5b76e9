// The key-index sync at scale: a simulated tenant of 100,000 recovery keys (plus the seeded
// organisation), read by KeyDesk's own sync (its Graph client, pacer and token provider, the real
// tenant-wide key list over HTTPS) into each store, the file store's key-index.jsonl and
// PostgreSQL's keydesk.recovery_key_index. Pacing is lifted (KEY_INDEX_SYNC_REQUESTS_PER_10S=1000)
// so the figure is KeyDesk's and the store's cost; at the default pace the sync's duration is set
// by the pace alone (pages / 2 per second), which the output states.
//
//   npm run bench:key-index                 BENCH_KEYS=100000 by default; results in data/bench/key-index.json
//   BENCH_KEYS=20000 npm run bench:key-index
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { spawnSync } from 'node:child_process';
import { ensureSimulatorCertificates, startSimulatedTenant } from '../dist/simulator/index.js';
import { loadConfig } from '../dist/src/config/config.js';
import { createMsalClient } from '../dist/src/graph/msal-client.js';
import { GraphTokenProvider } from '../dist/src/graph/token-provider.js';
import { createTenantKeyList } from '../dist/src/graph/tenant-key-list.js';
import { createKeyIndex } from '../dist/src/key-index/key-index.js';
import { openFileKeyIndex, keyIndexFileOf } from '../dist/src/key-index/file-store.js';
import { openPostgresKeyIndex } from '../dist/src/key-index/postgres-store.js';
import { prepareAuditSchema } from '../dist/src/audit/postgres/schema.js';
import { createBenchDatabase, postgresUnavailable } from './postgres.mjs';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, 'data', 'bench');
const KEYS = Number(process.env.BENCH_KEYS ?? 100_000);
const PAGE_SIZE = 100;
const DEFAULT_PACE = 20;

const logger = pino({ level: 'warn' });
const noAudit = { append: async () => ({ id: 'bench' }) };

async function syncInto(tenant, store, label) {
  const env = { ...tenant.keydeskEnvironment(), API_AUDIENCE: tenant.keydeskApp.appIdUri, AUDIT_FILE: join(tmpdir(), 'unused-audit.jsonl'), KEY_INDEX_SYNC_REQUESTS_PER_10S: '1000' };
  const config = loadConfig(env);
  const tokenProvider = new GraphTokenProvider(config, { logger, msal: createMsalClient(config) });
  const list = createTenantKeyList(config, { logger, tokenProvider, requestsPer10s: config.keyIndex.requestsPer10s });
  const index = createKeyIndex({ store, list, audit: noAudit, now: Date.now, logger });
  tenant.clearLogs();
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const started = performance.now();
  await index.startSync();
  await index.idle();
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const status = await index.status();
  if (status.state !== 'succeeded') throw new Error(`${label}: the sync ${status.state}: ${status.error}`);
  const found = await store.findByKeyIdPrefix(tenant.directory.recoveryKeys[0].id.replaceAll('-', '').slice(0, 8));
  const lookupStart = performance.now();
  for (const key of tenant.directory.recoveryKeys.slice(0, 200)) await store.findByKeyIdPrefix(key.id.replaceAll('-', '').slice(0, 8));
  const lookupMs = (performance.now() - lookupStart) / 200;
  return {
    store: label,
    keys: status.keys,
    pages: status.pages,
    graphRequests: tenant.counters().graphRoundTrips,
    seconds: Number(seconds.toFixed(1)),
    keysPerSecond: Math.round(status.keys / seconds),
    peakRssMb: Math.round(peakRss / 1_048_576),
    lookupMs: Number(lookupMs.toFixed(2)),
    foundFirst: found.length > 0,
    pacedSecondsAtDefault: Math.ceil(status.pages / DEFAULT_PACE) * 10,
  };
}

const dataDir = join(DATA, 'simulator');
mkdirSync(dataDir, { recursive: true });
// Node reads NODE_EXTRA_CA_CERTS only at start: the measuring process is this script again, started trusting the simulator's CA.
if (process.env.KEYDESK_BENCH_TRUSTS_SIMULATOR !== '1') {
  const { caBundlePath } = await ensureSimulatorCertificates(dataDir);
  const child = spawnSync(process.execPath, [import.meta.filename], { stdio: 'inherit', env: { ...process.env, NODE_EXTRA_CA_CERTS: caBundlePath, KEYDESK_BENCH_TRUSTS_SIMULATOR: '1' } });
  process.exit(child.status ?? 1);
}
const built = performance.now();
const tenant = await startSimulatedTenant({ dataDir, bulkKeys: KEYS, pageSizes: { plain: PAGE_SIZE }, maxLogEntries: 10_000 });
const tenantSeconds = (performance.now() - built) / 1000;
const results = [];
try {
  const folder = mkdtempSync(join(tmpdir(), 'keydesk-key-index-'));
  const fileStore = await openFileKeyIndex(join(folder, 'audit.jsonl'));
  const file = await syncInto(tenant, fileStore, 'file');
  await fileStore.close();
  file.fileMb = Number((statSync(keyIndexFileOf(join(folder, 'audit.jsonl'))).size / 1_048_576).toFixed(1));
  results.push(file);
  rmSync(folder, { recursive: true, force: true });

  const unavailable = await postgresUnavailable();
  if (unavailable) {
    results.push({ store: 'postgres', skipped: unavailable });
  } else {
    const database = await createBenchDatabase(`keydesk_bench_key_index`);
    try {
      await prepareAuditSchema(database.url, logger);
      const pgStore = openPostgresKeyIndex({ url: database.url }, logger);
      results.push(await syncInto(tenant, pgStore, 'postgres'));
      await pgStore.close();
    } finally {
      await database.drop();
    }
  }
} finally {
  await tenant.close();
}
const report = { at: new Date().toISOString(), bulkKeys: KEYS, tenantKeys: tenant.directory.recoveryKeys.length, pageSize: PAGE_SIZE, tenantBuildSeconds: Number(tenantSeconds.toFixed(1)), results };
writeFileSync(join(DATA, 'key-index.json'), `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));
