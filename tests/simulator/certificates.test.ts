import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureSimulatorCertificates } from '../../simulator/index.js';
import { startTestTenant } from './tenant-kit.js';

const dirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keydesk-sim-ca-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the simulator CA', () => {
  it('is made at first run as a CA and signs a server certificate for localhost, 127.0.0.1 and ::1', async () => {
    const dir = freshDir();
    const made = await ensureSimulatorCertificates(dir, {});
    const ca = new X509Certificate(readFileSync(made.caCertPath));
    const server = new X509Certificate(made.serverCert);
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.checkIssued(ca)).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkIP('::1')).toBeDefined();
  });

  it('is reused on the next run, and the simulator serves the certificate it signed', async () => {
    const dir = freshDir();
    const first = await startTestTenant({ dataDir: dir });
    const caAtFirstRun = readFileSync(first.tenant.caCertPath, 'utf8');
    await first.close();

    const second = await startTestTenant({ dataDir: dir });
    try {
      expect(readFileSync(second.tenant.caCertPath, 'utf8')).toBe(caAtFirstRun);
      // The kit's HTTPS agent trusts only this CA: an answer proves the chain.
      const answer = await second.http(`${second.tenant.authorityHost}/${second.tenant.tenantId}/v2.0/.well-known/openid-configuration`);
      expect(answer.status).toBe(200);
    } finally {
      await second.close();
    }
  });

  it('is made again when its files cannot be read as a CA', async () => {
    const dir = freshDir();
    const first = await ensureSimulatorCertificates(dir, {});
    const before = readFileSync(first.caCertPath, 'utf8');
    writeFileSync(first.caCertPath, 'not a certificate');
    const second = await ensureSimulatorCertificates(dir, {});
    const after = readFileSync(second.caCertPath, 'utf8');
    expect(after).not.toBe(before);
    expect(new X509Certificate(second.serverCert).checkIssued(new X509Certificate(after))).toBe(true);
  });

  it('bundles the CA with the certificates of the current NODE_EXTRA_CA_CERTS file, once each', async () => {
    const dir = freshDir();
    const other = await ensureSimulatorCertificates(freshDir(), {});
    const extra = join(dir, 'corporate-proxy-ca.pem');
    writeFileSync(extra, readFileSync(other.caCertPath, 'utf8'));
    const made = await ensureSimulatorCertificates(dir, { NODE_EXTRA_CA_CERTS: extra });
    const bundle = readFileSync(made.caBundlePath, 'utf8');
    expect(bundle.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(bundle).toContain(readFileSync(made.caCertPath, 'utf8').trim());
    expect(bundle).toContain(readFileSync(extra, 'utf8').trim());
    // Started again with the bundle itself as NODE_EXTRA_CA_CERTS, it does not grow.
    await ensureSimulatorCertificates(dir, { NODE_EXTRA_CA_CERTS: made.caBundlePath });
    expect(readFileSync(made.caBundlePath, 'utf8').match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
  });

  it('makes KeyDesk’s client certificate at first run in a 0700 folder, keeps it 0600, reuses it, and makes it again when unreadable', async () => {
    const dir = join(freshDir(), 'simulator');
    const first = await ensureSimulatorCertificates(dir, {});
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(first.keydeskCertificatePath).mode & 0o777).toBe(0o600);
    for (const key of [first.caKeyPath, join(dir, 'server.key'), join(dir, 'token-signing.key')]) expect(statSync(key).mode & 0o777).toBe(0o600);
    const pem = readFileSync(first.keydeskCertificatePath, 'utf8');
    expect(new X509Certificate(first.keydeskCertificate).publicKey.asymmetricKeyType).toBe('rsa');
    expect(pem).toContain(first.keydeskCertificate.trim());

    expect((await ensureSimulatorCertificates(dir, {})).keydeskCertificate).toBe(first.keydeskCertificate);
    writeFileSync(first.keydeskCertificatePath, first.keydeskCertificate);
    const remade = await ensureSimulatorCertificates(dir, {});
    expect(remade.keydeskCertificate).not.toBe(first.keydeskCertificate);
    expect(readFileSync(remade.keydeskCertificatePath, 'utf8')).toMatch(/-----BEGIN PRIVATE KEY-----/);
  });
});
