import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkSignature, createCheckpointSigner, loadPublicKey } from '../../src/audit/checkpoints/checkpoint.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { issueAppToken, makeSigningKey, mockEntraDiscovery, type SigningKey } from '../helpers/entra.js';

describe('GET /api/v1/audit/signing-key', () => {
  let entraKey: SigningKey;
  let harness: Harness;
  const dir = mkdtempSync(join(tmpdir(), 'keydesk-signing-key-'));
  const keyFile = join(dir, 'audit-signing-key.pem');
  const privatePem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  writeFileSync(keyFile, privatePem, { mode: 0o600 });

  beforeAll(async () => {
    entraKey = await makeSigningKey();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    nock.disableNetConnect();
    mockEntraDiscovery([entraKey]);
  });
  afterEach(async () => {
    await harness.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  const get = async (roles: string[]) =>
    harness.inject({ method: 'GET', url: '/api/v1/audit/signing-key', headers: { authorization: `Bearer ${await issueAppToken(entraKey, { roles })}` } });

  it('gives an auditor the public key that verifies the checkpoints KeyDesk signs', async () => {
    harness = await buildHarness('signing-key', { env: { AUDIT_SIGNING_KEY_PATH: keyFile } });
    const response = await get(['BitLocker.Audit']);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(Object.keys(body).sort()).toEqual(['algorithm', 'keyId', 'publicKeyPem']);
    expect(body.algorithm).toBe('Ed25519');
    expect(body.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(response.body).not.toContain('PRIVATE');
    const checkpoint = createCheckpointSigner(privatePem).sign({ seq: 1, hash: 'a'.repeat(64) }, 'keydesk:t:c', new Date());
    expect(checkpoint.keyId).toBe(body.keyId);
    expect(checkSignature(checkpoint, loadPublicKey(body.publicKeyPem))).toBeNull();
  });

  it('refuses a caller without BitLocker.Audit, even one trusted with disclosures', async () => {
    harness = await buildHarness('signing-key', { env: { AUDIT_SIGNING_KEY_PATH: keyFile } });
    const response = await get(['BitLocker.Disclose']);
    expect(response.statusCode).toBe(403);
    expect(response.json().code).toBe('forbidden');
  });

  it('answers 404 signing_key_not_configured when no signing key is set', async () => {
    harness = await buildHarness('signing-key');
    const response = await get(['BitLocker.Audit']);
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ code: 'signing_key_not_configured', detail: expect.stringContaining('AUDIT_SIGNING_KEY_PATH') });
  });
});
