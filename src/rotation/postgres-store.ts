import type pg from 'pg';
import type { Logger } from 'pino';
import type { DatabaseConfig } from '../config/config.js';
import { createAuditPool } from '../audit/postgres/connection.js';
import { decodeCursor, encodeCursor, pageLimit } from './page.js';
import type { Rotation, RotationStore } from './types.js';

/**
 * Rotations in PostgreSQL (migration 9): `keydesk.rotations`, one row per disclosure (UNIQUE
 * disclosure_id: two instances asking at once store one, and the second gets the first), the
 * whole rotation in `rotation` and the columns it is found by beside it. A change is a
 * compare-and-set on (state, updated_at), so of two instances moving one rotation one wins.
 */

interface RotationRow {
  rotation: Rotation;
}

export function createPostgresRotationStore(pool: pg.Pool, ownsPool: boolean): RotationStore {
  const one = async (sql: string, values: unknown[]) => (await pool.query<RotationRow>(sql, values)).rows[0]?.rotation ?? null;
  return {
    async create(rotation) {
      const inserted = await one(
        `INSERT INTO keydesk.rotations (id, disclosure_id, state, requested_at, updated_at, rotation)
         VALUES ($1, lower($2), $3, $4, $5, $6) ON CONFLICT (disclosure_id) DO NOTHING RETURNING rotation`,
        [rotation.id, rotation.disclosureId, rotation.state, rotation.requestedAt, rotation.updatedAt, rotation],
      );
      if (inserted) return { rotation: inserted, created: true };
      const existing = await one('SELECT rotation FROM keydesk.rotations WHERE disclosure_id = lower($1)', [rotation.disclosureId]);
      if (!existing) throw new Error('a rotation conflicted on its disclosure, yet none is stored for it');
      return { rotation: existing, created: false };
    },
    async update(next, seen) {
      const { rowCount } = await pool.query(
        `UPDATE keydesk.rotations SET state = $2, updated_at = $3, rotation = $4
          WHERE id = $1 AND state = $5 AND updated_at = $6::timestamptz`,
        [next.id, next.state, next.updatedAt, next, seen.state, seen.updatedAt],
      );
      return (rowCount ?? 0) > 0;
    },
    get: (id) => one('SELECT rotation FROM keydesk.rotations WHERE id = $1', [id]),
    forDisclosure: (disclosureId) => one('SELECT rotation FROM keydesk.rotations WHERE disclosure_id = lower($1)', [disclosureId]),
    async list(filter) {
      const limit = pageLimit(filter);
      const after = decodeCursor(filter.cursor);
      const { rows } = await pool.query<RotationRow>(
        `SELECT rotation FROM keydesk.rotations
          WHERE ($1::text IS NULL OR state = $1)
            AND ($2::timestamptz IS NULL OR (requested_at, id) < ($2::timestamptz, $3::uuid))
          ORDER BY requested_at DESC, id DESC LIMIT $4`,
        [filter.state ?? null, after?.requestedAt ?? null, after?.id ?? null, limit + 1],
      );
      const page = rows.slice(0, limit).map((row) => row.rotation);
      return { rotations: page, nextCursor: rows.length > limit ? encodeCursor(page.at(-1)!) : null };
    },
    async inStates(states, limit) {
      const { rows } = await pool.query<RotationRow>('SELECT rotation FROM keydesk.rotations WHERE state = ANY($1) ORDER BY requested_at, id LIMIT $2', [states, limit]);
      return rows.map((row) => row.rotation);
    },
    async close() {
      if (ownsPool) await pool.end();
    },
  };
}

/** Its own small pool on DATABASE_URL: a rotation changes a few times in its life. */
export function openPostgresRotationStore(database: DatabaseConfig, logger: Pick<Logger, 'warn'>): RotationStore {
  return createPostgresRotationStore(createAuditPool({ url: database.url, poolMax: 2 }, logger), true);
}
