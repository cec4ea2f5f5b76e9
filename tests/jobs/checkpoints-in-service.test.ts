import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSignature, loadPublicKey, parseCheckpoint, type Checkpoint } from '../../src/audit/checkpoints/checkpoint.js';
import { startServer, type RunningServer } from '../../src/server/start.js';
import { runVerifyCli } from '../../src/audit/verify-cli.js';
import { testConfig } from '../helpers/config.js';
import { freePort } from '../helpers/net.js';
import { disclosureEntry, memoryLogger } from '../audit/audit-kit.js';
import { createTestDatabase, superuser, SHARED_PG, type TestDatabase } from '../postgres/pg-kit.js';

/**
 * The signed checkpoints as a running KeyDesk writes them: the leader signs the chain head every
 * AUDIT_CHECKPOINT_SECONDS and once more at shutdown, beside the trail and to AUDIT_CHECKPOINT_URL;
 * with several instances on one database only the leader signs, and another takes over when it
 * stops. What the tools make of them is in tests/audit and tests/postgres.
 */

const lastLine = async (file: string): Promise<Checkpoint> => parseCheckpoint((await readFile(file, 'utf8')).trimEnd().split('\n').at(-1)!);

async function signingKey(dir: string): Promise<{ path: string; publicPem: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const path = join(dir, 'audit-signing-key.pem');
  await writeFile(path, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  await writeFile(join(dir, 'audit-signing-key.pub.pem'), publicPem);
  return { path, publicPem };
}

async function start(env: Record<string, string>, log = memoryLogger()): Promise<RunningServer> {
  return startServer(testConfig({ HOST: '127.0.0.1', PORT: String(await freePort()), AUDIT_CHECKPOINT_SECONDS: '1', ...env }), { logger: log.logger, handleSignals: false });
}

const silentIo = () => {
  const out: string[] = [];
  return { io: { out: (line: string) => out.push(line), err: (line: string) => out.push(line) }, out };
};

describe('checkpoints of a file trail', () => {
  let dir: string;
  let key: { path: string; publicPem: string };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keydesk-checkpoints-'));
    key = await signingKey(dir);
  });

  it('signs the head every interval and at shutdown, beside the trail and to AUDIT_CHECKPOINT_URL, and the trail verifies against them', async () => {
    const auditFile = join(dir, 'audit.jsonl');
    const copy = join(dir, 'copied-checkpoints.jsonl');
    const server = await start({ AUDIT_FILE: auditFile, AUDIT_SIGNING_KEY_PATH: key.path, AUDIT_CHECKPOINT_URL: copy });
    for (let i = 0; i < 3; i += 1) await server.audit.append(disclosureEntry());
    await expect.poll(async () => (await lastLine(`${auditFile}.checkpoints.jsonl`).catch(() => null))?.seq, { timeout: 5_000, interval: 100 }).toBe(3);
    await server.audit.append(disclosureEntry());
    await server.stop();

    const beside = await lastLine(`${auditFile}.checkpoints.jsonl`);
    expect(beside).toMatchObject({ seq: 4, origin: expect.stringMatching(/^keydesk:/) });
    expect(checkSignature(beside, loadPublicKey(key.publicPem))).toBeNull();
    expect(await lastLine(copy)).toEqual(beside);

    const { io } = silentIo();
    expect(await runVerifyCli([auditFile, '--checkpoint', copy, '--public-key', join(dir, 'audit-signing-key.pub.pem')], {}, io)).toBe(0);
  });

  it('signs nothing, and says so at start-up, without AUDIT_SIGNING_KEY_PATH', async () => {
    const auditFile = join(dir, 'unsigned.jsonl');
    const log = memoryLogger();
    const server = await start({ AUDIT_FILE: auditFile }, log);
    await server.audit.append(disclosureEntry());
    await server.stop();
    expect(log.text()).toContain('AUDIT_SIGNING_KEY_PATH is not set');
    await expect(readFile(`${auditFile}.checkpoints.jsonl`)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('checkpoints with two instances on one database', () => {
  let dir: string;
  let key: { path: string; publicPem: string };
  let database: TestDatabase;
  const servers: RunningServer[] = [];
  const logs = [memoryLogger(), memoryLogger()];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keydesk-checkpoints-pg-'));
    key = await signingKey(dir);
    database = await createTestDatabase();
    for (const log of logs) servers.push(await start({ AUDIT_STORE: 'postgres', DATABASE_URL: database.url, AUDIT_FILE: join(dir, 'unused.jsonl'), AUDIT_SIGNING_KEY_PATH: key.path }, log));
  }, 30_000);
  afterAll(async () => {
    await Promise.allSettled(servers.map((server) => server.stop()));
    await database?.drop();
  });

  const signedBy = (index: number) => logs[index]!.lines.filter((line) => line.msg === 'audit checkpoint signed').length;
  const stored = () => superuser(SHARED_PG, async (client) => (await client.query<{ line: string }>('SELECT line FROM keydesk.audit_checkpoints ORDER BY seq')).rows.map((row) => parseCheckpoint(row.line)), database.name);

  it('has the leader alone sign each head into keydesk.audit_checkpoints, and another instance take over when the leader stops', async () => {
    for (let i = 0; i < 4; i += 1) await servers[i % 2]!.audit.append(disclosureEntry());
    await expect.poll(async () => (await stored()).at(-1)?.seq, { timeout: 8_000, interval: 200 }).toBe(4);
    const leader = signedBy(0) > 0 ? 0 : 1;
    const follower = 1 - leader;
    expect(signedBy(follower)).toBe(0);
    for (const checkpoint of await stored()) expect(checkSignature(checkpoint, loadPublicKey(key.publicPem))).toBeNull();

    await servers[leader]!.stop();
    await servers[follower]!.audit.append(disclosureEntry());
    // Followers try for the lock every 5 s, then sign at the next 1 s interval.
    await expect.poll(async () => (await stored()).at(-1)?.seq, { timeout: 10_000, interval: 200 }).toBe(5);
    expect(signedBy(follower)).toBeGreaterThan(0);

    const { io, out } = silentIo();
    expect(await runVerifyCli(['--database-url', database.url, '--public-key', join(dir, 'audit-signing-key.pub.pem')], {}, io), out.join('\n')).toBe(0);
  }, 30_000);
});
