import { ConfigError, withoutPassword, type Env } from './config.js';

/**
 * The slice of the configuration `npm run db:migrate` needs: the schema owner's connection,
 * DATABASE_MIGRATION_URL, or DATABASE_URL when that is unset (a single role that owns the schema
 * and runs KeyDesk, which start-up warns about).
 */

export interface MigrateConfig {
  /** The URL migrations run on; its password never appears in a message. */
  url: string;
  /** Which variable it came from, for messages. */
  variable: 'DATABASE_MIGRATION_URL' | 'DATABASE_URL';
}

const HOW = 'use a PostgreSQL connection URL, e.g. postgres://keydesk_owner@db.contoso.com:5432/keydesk?sslmode=verify-full';

export function loadMigrateConfig(env: Env = process.env): MigrateConfig {
  const variable = env.DATABASE_MIGRATION_URL ? 'DATABASE_MIGRATION_URL' : env.DATABASE_URL ? 'DATABASE_URL' : null;
  if (variable === null) {
    throw new ConfigError([`DATABASE_MIGRATION_URL (or DATABASE_URL) is missing: set it to the schema owner's connection URL, e.g. postgres://keydesk_owner@db.contoso.com:5432/keydesk?sslmode=verify-full`]);
  }
  const url = env[variable]!;
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = '';
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') throw new ConfigError([`${variable}=${JSON.stringify(withoutPassword(url))} is not valid: ${HOW}`]);
  return { url, variable };
}
