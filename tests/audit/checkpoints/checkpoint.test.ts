import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, verify } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { checkSignature, checkpointOrigin, createCheckpointSigner, loadPublicKey, parseCheckpoint } from '../../../src/audit/checkpoints/checkpoint.js';
import { appendCheckpoint, readLastCheckpoint } from '../../../src/audit/checkpoints/checkpoint-file.js';
import { checkAgainstCheckpoint } from '../../../src/audit/checkpoints/verify-checkpoint.js';
import { tempAuditFile } from '../audit-kit.js';

function newKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

const origin = checkpointOrigin('72f988bf-86f1-41af-91ab-2d7cd011db47', '3f0c2a4e-8b1d-4c6a-9e2f-5a7b8c9d0e1f');
const head = { seq: 42, hash: 'a'.repeat(64) };
const time = new Date('2026-12-01T09:30:00.000Z');

describe('signed checkpoints', () => {
  it('name the key by the hex SHA-256 of its SPKI DER, as openssl computes it', async () => {
    const pem = newKeyPem();
    const file = await tempAuditFile();
    await mkdir(dirname(file), { recursive: true });
    const keyFile = join(dirname(file), 'key.pem');
    await writeFile(keyFile, pem);
    const der = execFileSync('openssl', ['pkey', '-in', keyFile, '-pubout', '-outform', 'DER']);
    const expected = execFileSync('openssl', ['dgst', '-sha256', '-hex'], { input: der }).toString().trim().split(' ').at(-1);
    expect(createCheckpointSigner(pem).keyId).toBe(expected);
  });

  it('sign the RFC 8785 canonical JSON of every member but the signature, which any Ed25519 tool can check', () => {
    const signer = createCheckpointSigner(newKeyPem());
    const checkpoint = signer.sign(head, origin, time);
    expect(Object.keys(checkpoint)).toEqual(['origin', 'seq', 'hash', 'time', 'keyId', 'signature']);
    const canonical = `{"hash":"${head.hash}","keyId":"${signer.keyId}","origin":"${origin}","seq":42,"time":"2026-12-01T09:30:00.000Z"}`;
    expect(verify(null, Buffer.from(canonical), loadPublicKey(signer.publicKeyPem), Buffer.from(checkpoint.signature, 'base64url'))).toBe(true);
    expect(checkSignature(checkpoint, loadPublicKey(signer.publicKeyPem))).toBeNull();
  });

  it('fail to verify when any member is changed, or with another key', () => {
    const signer = createCheckpointSigner(newKeyPem());
    const checkpoint = signer.sign(head, origin, time);
    const publicKey = loadPublicKey(signer.publicKeyPem);
    expect(checkSignature({ ...checkpoint, seq: 41 }, publicKey)).toMatch(/signature is not valid/);
    expect(checkSignature({ ...checkpoint, time: '2026-12-01T09:31:00.000Z' }, publicKey)).toMatch(/signature is not valid/);
    const other = createCheckpointSigner(newKeyPem());
    expect(checkSignature(checkpoint, loadPublicKey(other.publicKeyPem))).toMatch(`names signing key ${signer.keyId}, not the key given (${other.keyId})`);
  });

  it('take a public key from a private key PEM too, but refuse a key that is not Ed25519', () => {
    const pem = newKeyPem();
    expect(loadPublicKey(pem).asymmetricKeyType).toBe('ed25519');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => loadPublicKey(rsa)).toThrow('it is an rsa key, not Ed25519');
    expect(() => loadPublicKey('hello')).toThrow('not a public key in PEM');
  });

  it('parse only a well-formed checkpoint', () => {
    const checkpoint = createCheckpointSigner(newKeyPem()).sign(head, origin, time);
    expect(parseCheckpoint(JSON.stringify(checkpoint))).toEqual(checkpoint);
    expect(() => parseCheckpoint('{')).toThrow('not JSON');
    expect(() => parseCheckpoint(JSON.stringify({ ...checkpoint, seq: 0 }))).toThrow(/not a checkpoint \(\/seq/);
    expect(() => parseCheckpoint(JSON.stringify({ ...checkpoint, extra: 1 }))).toThrow(/not a checkpoint/);
  });
});

describe('a checkpoint file', () => {
  it('is created 0600 and gives back its last checkpoint, null while missing', async () => {
    const file = `${await tempAuditFile()}.checkpoints.jsonl`;
    await mkdir(dirname(file), { recursive: true });
    expect(await readLastCheckpoint(file)).toBeNull();
    const signer = createCheckpointSigner(newKeyPem());
    const first = signer.sign({ seq: 1, hash: 'b'.repeat(64) }, origin, time);
    const second = signer.sign(head, origin, time);
    await appendCheckpoint(file, first);
    await appendCheckpoint(file, second);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readLastCheckpoint(file)).toEqual(second);
    expect((await readFile(file, 'utf8')).split('\n')).toHaveLength(3);
  });

  it('whose last line is not a checkpoint says so', async () => {
    const file = `${await tempAuditFile()}.checkpoints.jsonl`;
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, '{"origin":"keydesk:t:c","seq":3\n');
    await expect(readLastCheckpoint(file)).rejects.toThrow(`the last line of ${file} is not a checkpoint`);
  });
});

describe('a trail checked against a checkpoint', () => {
  const signer = createCheckpointSigner(newKeyPem());
  const publicKey = loadPublicKey(signer.publicKeyPem);
  const hashes = new Map([[40, 'c'.repeat(64)], [42, head.hash]]);
  const hashAt = async (seq: number) => hashes.get(seq) ?? 'f'.repeat(64);

  it('agrees when the trail holds the signed hash at the signed seq, at its head or before it', async () => {
    const checkpoint = signer.sign(head, origin, time);
    expect(await checkAgainstCheckpoint({ checkpoint, publicKey, head, hashAt })).toBeNull();
    expect(await checkAgainstCheckpoint({ checkpoint, publicKey, head: { seq: 50, hash: 'd'.repeat(64) }, hashAt })).toBeNull();
  });

  it('reports a tail cut off after the checkpoint as the records missing', async () => {
    const checkpoint = signer.sign(head, origin, time);
    expect(await checkAgainstCheckpoint({ checkpoint, publicKey, head: { seq: 40, hash: hashes.get(40)! }, hashAt })).toMatch(/records 41\.\.42 missing$/);
  });

  it('reports a trail rewritten up to the checkpoint', async () => {
    const checkpoint = signer.sign({ seq: 41, hash: 'e'.repeat(64) }, origin, time);
    expect(await checkAgainstCheckpoint({ checkpoint, publicKey, head, hashAt })).toMatch(/the record at seq 41 has hash f{64}, but the checkpoint .* signed e{64}/);
  });

  it('reports a forged checkpoint before looking at the trail', async () => {
    const checkpoint = { ...signer.sign(head, origin, time), hash: 'c'.repeat(64) };
    expect(await checkAgainstCheckpoint({ checkpoint, publicKey, head, hashAt })).toMatch(/signature is not valid/);
  });
});
