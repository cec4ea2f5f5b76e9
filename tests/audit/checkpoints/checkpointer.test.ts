import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkSignature, createCheckpointSigner, loadPublicKey, type Checkpoint } from '../../../src/audit/checkpoints/checkpoint.js';
import { appendCheckpoint, readLastCheckpoint } from '../../../src/audit/checkpoints/checkpoint-file.js';
import { createCheckpointer, type CheckpointLog } from '../../../src/audit/checkpoints/checkpointer.js';
import { fileTarget, urlTarget, type CheckpointTarget } from '../../../src/audit/checkpoints/checkpoint-target.js';
import { ensureSimulatorCertificates } from '../../../simulator/certificates.js';
import { tempAuditFile } from '../audit-kit.js';

const signer = createCheckpointSigner(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());

function memoryLogger() {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (_fields: unknown, message?: string) => void lines.push({ level, message: message ?? '' });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}

async function setup(options: { target?: CheckpointTarget | null; leader?: () => boolean } = {}) {
  const file = `${await tempAuditFile()}.checkpoints.jsonl`;
  await mkdir(dirname(file), { recursive: true });
  const log: CheckpointLog = { last: () => readLastCheckpoint(file), append: (c) => appendCheckpoint(file, c) };
  let head = { seq: 0, hash: '0'.repeat(64) };
  const { lines, logger } = memoryLogger();
  const checkpointer = createCheckpointer({
    head: async () => head,
    log,
    target: options.target ?? null,
    signer,
    origin: 'keydesk:tenant:client',
    intervalSeconds: 60,
    isLeader: options.leader ?? (() => true),
    logger,
  });
  const moveTo = (seq: number) => (head = { seq, hash: seq.toString(16).padStart(64, '0') });
  const stored = async () => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Checkpoint);
  return { checkpointer, moveTo, stored, lines, file };
}

describe('the checkpointer', () => {
  it('signs the head only when records were added since the last checkpoint', async () => {
    const { checkpointer, moveTo, stored } = await setup();
    expect(await checkpointer.checkpoint()).toBeNull();
    moveTo(3);
    const first = await checkpointer.checkpoint();
    expect(first).toMatchObject({ origin: 'keydesk:tenant:client', seq: 3, keyId: signer.keyId });
    expect(checkSignature(first!, loadPublicKey(signer.publicKeyPem))).toBeNull();
    expect(await checkpointer.checkpoint()).toBeNull();
    moveTo(5);
    await checkpointer.checkpoint();
    expect((await stored()).map((c) => c.seq)).toEqual([3, 5]);
  });

  it('signs nothing in a process that is not the leader', async () => {
    const { checkpointer, moveTo, stored } = await setup({ leader: () => false });
    moveTo(3);
    expect(await checkpointer.checkpoint()).toBeNull();
    expect(await stored()).toEqual([]);
  });

  it('signs a last checkpoint when it stops', async () => {
    const { checkpointer, moveTo, stored } = await setup();
    checkpointer.start();
    moveTo(7);
    await checkpointer.stop();
    expect((await stored()).map((c) => c.seq)).toEqual([7]);
  });

  it('says which records are missing when the trail is shorter than its last checkpoint, and signs no new one', async () => {
    const { checkpointer, moveTo, stored, lines } = await setup();
    moveTo(9);
    await checkpointer.checkpoint();
    moveTo(6);
    expect(await checkpointer.checkpoint()).toBeNull();
    expect(lines.find((l) => l.level === 'error')?.message).toBe('the audit trail ends at seq 6, but a checkpoint was signed at seq 9: records 7..9 are missing');
    expect((await stored()).map((c) => c.seq)).toEqual([9]);
  });

  it('appends a copy to AUDIT_CHECKPOINT_URL when it names a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keydesk-copies-'));
    try {
      const copies = join(dir, 'copies.jsonl');
      const { checkpointer, moveTo } = await setup({ target: fileTarget(copies) });
      moveTo(4);
      const signed = await checkpointer.checkpoint();
      await checkpointer.stop();
      expect(await readLastCheckpoint(copies)).toEqual(signed);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a checkpoint sent to an https endpoint', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  async function endpoint(statuses: number[]) {
    const certificates = await ensureSimulatorCertificates(join(tmpdir(), 'keydesk-test-certificates'));
    const received: { method: string; type: string; body: string }[] = [];
    server = createServer({ key: certificates.serverKey, cert: certificates.serverCert }, (request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        received.push({ method: request.method ?? '', type: request.headers['content-type'] ?? '', body });
        response.statusCode = statuses.shift() ?? 204;
        response.end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const agent = new Agent({ ca: await readFile(certificates.caCertPath, 'utf8') });
    return { url: `https://127.0.0.1:${port}/checkpoints?token=abc`, agent, received };
  }

  it('is POSTed as JSON, and retried until the endpoint takes it', async () => {
    const { url, agent, received } = await endpoint([503, 500]);
    const { logger, lines } = memoryLogger();
    const target = urlTarget({ url, agent, logger, firstDelayMs: 10 });
    const checkpoint = signer.sign({ seq: 2, hash: 'b'.repeat(64) }, 'keydesk:t:c', new Date());
    await target.deliver(checkpoint);
    expect(received).toHaveLength(3);
    expect(received[2]).toEqual({ method: 'POST', type: 'application/json', body: JSON.stringify(checkpoint) });
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(2);
    expect(JSON.stringify(lines) + target.description).not.toContain('token=abc');
  });

  it('is given up after the last attempt, with the endpoint’s answer', async () => {
    const { url, agent } = await endpoint([500, 500, 500]);
    const target = urlTarget({ url, agent, logger: memoryLogger().logger, attempts: 3, firstDelayMs: 10 });
    await expect(target.deliver(signer.sign({ seq: 2, hash: 'b'.repeat(64) }, 'keydesk:t:c', new Date()))).rejects.toThrow('the checkpoint endpoint answered 500');
  });
});
