import type pg from 'pg';
import type { Logger } from 'pino';
import type { DatabaseConfig } from '../config/config.js';
import { createAuditPool } from '../audit/postgres/connection.js';
import type { RecoveryKeyMetadata, VolumeType } from '../graph/types.js';
import { normaliseKeyId } from '../disclosure/rules.js';
import type { IndexedKey, KeyIndexStore, KeyIndexSyncState, KeyIndexSyncStatus } from './types.js';

/**
 * The key index in PostgreSQL (migration 7): `keydesk.recovery_key_index`, one row per key ID
 * ever seen, and the one-row `keydesk.recovery_key_index_sync` whose `running_since` is the sync
 * lease every instance shares. A page of the tenant-wide list is upserted in one statement.
 */

interface KeyRow {
  id: string;
  device_id: string;
  volume_type: VolumeType;
  created_date_time: string;
  first_seen_at: Date;
  last_seen_at: Date;
  removed_at: Date | null;
}

interface SyncRow {
  state: KeyIndexSyncState;
  started_at: Date | null;
  completed_at: Date | null;
  last_success_at: Date | null;
  pages: number;
  keys: number;
  error: string | null;
}

const COLUMNS = 'id, device_id, volume_type, created_date_time, first_seen_at, last_seen_at, removed_at';

function toEntry(row: KeyRow): IndexedKey {
  return {
    id: row.id,
    deviceId: row.device_id,
    volumeType: row.volume_type,
    createdDateTime: row.created_date_time,
    firstSeenAt: row.first_seen_at.toISOString(),
    lastSeenAt: row.last_seen_at.toISOString(),
    removedAt: row.removed_at?.toISOString() ?? null,
  };
}

const iso = (date: Date | null) => date?.toISOString() ?? null;

/** Upserts keys as seen at $6 (arrays: id, key_hex, device_id, volume_type, created_date_time). */
const UPSERT = `
INSERT INTO keydesk.recovery_key_index AS k (id, key_hex, device_id, volume_type, created_date_time, first_seen_at, last_seen_at, removed_at)
SELECT id, key_hex, device_id, volume_type, created, $6, $6, NULL
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u(id, key_hex, device_id, volume_type, created)
ON CONFLICT (id) DO UPDATE SET device_id = EXCLUDED.device_id, volume_type = EXCLUDED.volume_type,
  created_date_time = EXCLUDED.created_date_time, last_seen_at = greatest(k.last_seen_at, EXCLUDED.last_seen_at), removed_at = NULL`;

async function upsert(pool: pg.Pool | pg.PoolClient, keys: readonly RecoveryKeyMetadata[], seenAt: string, fallbackDeviceId = ''): Promise<void> {
  // A GUID's hex digits only: anything else Graph might send is not a key ID the index can find.
  const usable = keys.filter((key) => /^[0-9a-f]{32}$/.test(normaliseKeyId(key.id)));
  if (usable.length === 0) return;
  await pool.query(UPSERT, [
    usable.map((key) => key.id.toLowerCase()),
    usable.map((key) => normaliseKeyId(key.id)),
    usable.map((key) => (key.deviceId || fallbackDeviceId).toLowerCase()),
    usable.map((key) => key.volumeType),
    usable.map((key) => key.createdDateTime),
    seenAt,
  ]);
}

/** A device's list upserted and its other live entries marked removed, in one transaction. */
async function refreshDeviceRows(pool: pg.Pool, deviceId: string, keys: readonly RecoveryKeyMetadata[], at: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await upsert(client, keys, at, deviceId);
    await client.query('UPDATE keydesk.recovery_key_index SET removed_at = $3 WHERE device_id = $1 AND removed_at IS NULL AND NOT (id = ANY($2))', [
      deviceId.toLowerCase(),
      keys.map((key) => key.id.toLowerCase()),
      at,
    ]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export function createPostgresKeyIndex(pool: pg.Pool, ownsPool: boolean): KeyIndexStore {
  return {
    async findByKeyIdPrefix(hex) {
      // A range on the C-collated hex column: an index scan, and no LIKE wildcard can slip in.
      const { rows } = await pool.query<KeyRow>(`SELECT ${COLUMNS} FROM keydesk.recovery_key_index WHERE key_hex >= $1 AND key_hex < $1 || 'g' ORDER BY key_hex LIMIT 100`, [hex]);
      return rows.map(toEntry);
    },
    async entries() {
      const { rows } = await pool.query<KeyRow>(`SELECT ${COLUMNS} FROM keydesk.recovery_key_index ORDER BY device_id, created_date_time`);
      return rows.map(toEntry);
    },
    refreshDevice: (deviceId, keys, at) => refreshDeviceRows(pool, deviceId, keys, at),
    async beginSync(startedAt, staleBefore) {
      const { rowCount } = await pool.query(
        `UPDATE keydesk.recovery_key_index_sync SET running_since = $1, state = 'running', started_at = $1, completed_at = NULL, pages = 0, keys = 0, error = NULL
          WHERE singleton AND (running_since IS NULL OR running_since <= $2)`,
        [startedAt, staleBefore],
      );
      return (rowCount ?? 0) > 0;
    },
    async applyPage(keys, startedAt, progress) {
      await upsert(pool, keys, startedAt);
      await pool.query('UPDATE keydesk.recovery_key_index_sync SET pages = $1, keys = $2, running_since = $4 WHERE singleton AND started_at = $3 AND running_since IS NOT NULL', [
        progress.pages,
        progress.keys,
        startedAt,
        progress.at,
      ]);
    },
    async endSync(outcome) {
      const ok = outcome.error === null;
      if (ok) {
        await pool.query('UPDATE keydesk.recovery_key_index SET removed_at = $2 WHERE removed_at IS NULL AND last_seen_at < $1', [outcome.startedAt, outcome.completedAt]);
      }
      await pool.query(
        `UPDATE keydesk.recovery_key_index_sync SET running_since = NULL, state = $1, completed_at = $2, pages = $3, keys = $4, error = $5,
           last_success_at = CASE WHEN $6 THEN $2::timestamptz ELSE last_success_at END
          WHERE singleton AND started_at = $7`,
        [ok ? 'succeeded' : 'failed', outcome.completedAt, outcome.pages, outcome.keys, outcome.error, ok, outcome.startedAt],
      );
    },
    async status(): Promise<KeyIndexSyncStatus> {
      const { rows } = await pool.query<SyncRow>('SELECT state, started_at, completed_at, last_success_at, pages, keys, error FROM keydesk.recovery_key_index_sync WHERE singleton');
      const row = rows[0];
      if (!row) return { state: 'never', startedAt: null, completedAt: null, lastSuccessAt: null, pages: 0, keys: 0, error: null };
      return { state: row.state, startedAt: iso(row.started_at), completedAt: iso(row.completed_at), lastSuccessAt: iso(row.last_success_at), pages: row.pages, keys: row.keys, error: row.error };
    },
    async close() {
      if (ownsPool) await pool.end();
    },
  };
}

/** Its own small pool on DATABASE_URL: a sync writes a page at a time, a look-up reads a few rows. */
export function openPostgresKeyIndex(database: DatabaseConfig, logger: Pick<Logger, 'warn'>): KeyIndexStore {
  return createPostgresKeyIndex(createAuditPool({ url: database.url, poolMax: 3 }, logger), true);
}
