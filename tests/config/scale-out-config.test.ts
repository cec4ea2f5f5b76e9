import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, withoutPassword } from '../../src/config/config.js';
import { MINIMAL_ENV, configProblems } from '../helpers/config.js';

/** The variables of the scale-out: the audit store, PostgreSQL, Redis, checkpoints, workers. */

const dir = mkdtempSync(join(tmpdir(), 'keydesk-config-'));
const ed25519 = join(dir, 'ed25519.pem');
writeFileSync(ed25519, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
const rsa = join(dir, 'rsa.pem');
writeFileSync(rsa, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));

describe('scale-out configuration', () => {
  it('defaults to the file store, in memory for shared state, one process, no checkpoints', () => {
    const config = loadConfig(MINIMAL_ENV);
    expect(config.audit).toMatchObject({ store: 'file', fileLockWaitSeconds: 30, checkpointSeconds: 60, signingKey: null, checkpointTarget: null });
    expect(config.database).toBeNull();
    expect(config.redis).toBeNull();
    expect(config.workers).toBe(1);
  });

  it('takes PostgreSQL, a migration role, a pool size and Redis', () => {
    const config = loadConfig({
      ...MINIMAL_ENV,
      AUDIT_STORE: 'postgres',
      DATABASE_URL: 'postgres://app:pw@db:5432/keydesk?sslmode=verify-full',
      DATABASE_MIGRATION_URL: 'postgresql://owner@db/keydesk',
      DATABASE_POOL_MAX: '20',
      REDIS_URL: 'rediss://:secret@redis:6380/1',
      REDIS_KEY_PREFIX: 'kd-test:',
      WORKERS: '2',
    });
    expect(config.database).toEqual({ url: 'postgres://app:pw@db:5432/keydesk?sslmode=verify-full', migrationUrl: 'postgresql://owner@db/keydesk', poolMax: 20 });
    expect(config.redis).toEqual({ url: 'rediss://:secret@redis:6380/1', keyPrefix: 'kd-test:' });
    expect(config.workers).toBe(2);
    expect(loadConfig({ ...MINIMAL_ENV, AUDIT_STORE: 'postgres', DATABASE_URL: 'postgres://app@db/keydesk' }).database?.migrationUrl).toBe('postgres://app@db/keydesk');
  });

  it('needs DATABASE_URL for AUDIT_STORE=postgres, and refuses other schemes without echoing a password', () => {
    expect(configProblems({ ...MINIMAL_ENV, AUDIT_STORE: 'postgres' })).toEqual([expect.stringMatching(/^DATABASE_URL is missing: AUDIT_STORE=postgres/)]);
    const problems = configProblems({ ...MINIMAL_ENV, AUDIT_STORE: 'postgres', DATABASE_URL: 'mysql://app:hunter2@db/keydesk' });
    // One problem: the value given is wrong, not missing.
    expect(problems).toHaveLength(1);
    const [problem] = problems;
    expect(problem).toMatch(/^DATABASE_URL="mysql:\/\/app:\*\*\*@db\/keydesk" is not valid: use a PostgreSQL connection URL/);
    expect(problem).not.toContain('hunter2');
    expect(configProblems({ ...MINIMAL_ENV, AUDIT_STORE: 'sqlite' })).toEqual([expect.stringMatching(/^AUDIT_STORE="sqlite" is not valid: use file or postgres/)]);
    expect(configProblems({ ...MINIMAL_ENV, REDIS_URL: 'http://redis' })).toEqual([expect.stringMatching(/^REDIS_URL=.* is not valid: use a Redis URL/)]);
  });

  it('refuses WORKERS over 1 on the file store, or with the web UI but without Redis', () => {
    expect(configProblems({ ...MINIMAL_ENV, WORKERS: '2' })).toEqual([expect.stringMatching(/^WORKERS=2 needs AUDIT_STORE=postgres/)]);
    const web = { ...MINIMAL_ENV, PUBLIC_BASE_URL: 'http://127.0.0.1:8080', SESSION_SECRET: 'x'.repeat(32), AUDIT_STORE: 'postgres', DATABASE_URL: 'postgres://db/keydesk', WORKERS: '4' };
    expect(configProblems(web)).toEqual([expect.stringMatching(/^WORKERS=4 with the web UI \(PUBLIC_BASE_URL\) needs REDIS_URL/)]);
    expect(configProblems({ ...web, REDIS_URL: 'redis://127.0.0.1:6379' })).toEqual([]);
    expect(configProblems({ ...MINIMAL_ENV, WORKERS: '17' })).toEqual([expect.stringMatching(/^WORKERS="17" is not valid/)]);
  });

  it('takes an Ed25519 signing key and a checkpoint target; refuses another kind of key or an http URL', () => {
    const config = loadConfig({ ...MINIMAL_ENV, AUDIT_SIGNING_KEY_PATH: ed25519, AUDIT_CHECKPOINT_SECONDS: '5', AUDIT_CHECKPOINT_URL: '/var/lib/archive/checkpoints.jsonl' });
    expect(config.audit.signingKey?.path).toBe(ed25519);
    expect(config.audit.checkpointSeconds).toBe(5);
    expect(config.audit.checkpointTarget).toEqual({ kind: 'file', path: '/var/lib/archive/checkpoints.jsonl' });
    expect(loadConfig({ ...MINIMAL_ENV, AUDIT_CHECKPOINT_URL: 'https://archive.contoso.com/cp' }).audit.checkpointTarget).toEqual({ kind: 'url', url: 'https://archive.contoso.com/cp' });
    expect(configProblems({ ...MINIMAL_ENV, AUDIT_SIGNING_KEY_PATH: rsa })).toEqual([expect.stringMatching(/^AUDIT_SIGNING_KEY_PATH=.* is not an Ed25519 private key in PEM: make one with `openssl genpkey -algorithm ed25519/)]);
    expect(configProblems({ ...MINIMAL_ENV, AUDIT_SIGNING_KEY_PATH: join(dir, 'missing.pem') })).toEqual([expect.stringMatching(/^AUDIT_SIGNING_KEY_PATH=.* cannot be read \(ENOENT\)/)]);
    expect(configProblems({ ...MINIMAL_ENV, AUDIT_CHECKPOINT_URL: 'http://archive/cp' })).toEqual([expect.stringMatching(/^AUDIT_CHECKPOINT_URL=.* is not valid: use an https:\/\/ URL/)]);
    expect(configProblems({ ...MINIMAL_ENV, AUDIT_CHECKPOINT_SECONDS: '0' })).toEqual([expect.stringMatching(/^AUDIT_CHECKPOINT_SECONDS="0" is not valid/)]);
  });

  it('hides a URL password in anything it prints', () => {
    expect(withoutPassword('postgres://app:s3cr3t@db:5432/keydesk')).toBe('postgres://app:***@db:5432/keydesk');
    expect(withoutPassword('nonsense')).toBe('<not a URL>');
  });
});
