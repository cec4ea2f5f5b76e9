import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';

/**
 * The simulator's key material, kept in its data folder and reused across runs: a local CA (MSAL
 * talks only to https authorities, so the simulated Entra and Graph need certificates a KeyDesk
 * process can be told to trust), the TLS server certificate it signs, and the tenant's token
 * signing key with its self-signed certificate (Entra publishes one in each JWKS entry's x5c).
 * Reuse keeps start-up fast and lets a long-running KeyDesk keep trusting the CA.
 */

export interface SimulatorCertificates {
  caCertPath: string;
  caKeyPath: string;
  /** This CA plus the certificates of the file named by NODE_EXTRA_CA_CERTS when the simulator started. */
  caBundlePath: string;
  serverCert: string;
  serverKey: string;
  signingKey: string;
  signingCert: string;
}

const CA_NAME = 'KeyDesk Simulated Tenant Local CA';
const DAY_MS = 86_400_000;
/** Browsers refuse server certificates valid for more than 398 days. */
const SERVER_CERT_DAYS = 397;
const CA_DAYS = 5 * 365;
const RENEW_WITHIN_MS = 7 * DAY_MS;
const SERVER_NAMES = { dns: ['localhost'], ips: ['127.0.0.1', '::1'] };
const LOCK_STALE_MS = 60_000;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Atomic: a reader never sees half a PEM, even with several test workers starting together. */
function writeAtomically(path: string, content: string, mode: number): void {
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temporary, content, { mode });
  renameSync(temporary, path);
}

function validLongEnough(certificate: X509Certificate, now: number): boolean {
  return Date.parse(certificate.validFrom) <= now + 60_000 && Date.parse(certificate.validTo) > now + RENEW_WITHIN_MS;
}

function usableCa(certPem: string | null, keyPem: string | null, now: number): boolean {
  if (certPem === null || keyPem === null) return false;
  try {
    const certificate = new X509Certificate(certPem);
    return certificate.ca && certificate.checkPrivateKey(createPrivateKey(keyPem)) && validLongEnough(certificate, now);
  } catch {
    return false;
  }
}

function usableServerCert(certPem: string | null, keyPem: string | null, caPem: string, now: number): boolean {
  if (certPem === null || keyPem === null) return false;
  try {
    const certificate = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    const names = certificate.subjectAltName ?? '';
    return (
      certificate.checkIssued(ca) &&
      certificate.verify(ca.publicKey) &&
      certificate.checkPrivateKey(createPrivateKey(keyPem)) &&
      validLongEnough(certificate, now) &&
      SERVER_NAMES.dns.every((name) => names.includes(`DNS:${name}`)) &&
      SERVER_NAMES.ips.every((ip) => certificate.checkIP(ip) !== undefined)
    );
  } catch {
    return false;
  }
}

function usableSigningPair(certPem: string | null, keyPem: string | null, now: number): boolean {
  if (certPem === null || keyPem === null) return false;
  try {
    const certificate = new X509Certificate(certPem);
    return certificate.checkPrivateKey(createPrivateKey(keyPem)) && validLongEnough(certificate, now);
  } catch {
    return false;
  }
}

async function withLock<T>(dataDir: string, work: () => Promise<T>): Promise<T> {
  const lock = join(dataDir, '.lock');
  const deadline = Date.now() + 2 * LOCK_STALE_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      try {
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) rmSync(lock, { recursive: true, force: true });
      } catch {
        // Removed by its owner meanwhile.
      }
      if (Date.now() > deadline) throw new Error(`the simulator's data folder ${dataDir} stays locked (${lock}); remove the lock if no simulator is starting`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The CA plus NODE_EXTRA_CA_CERTS' certificates, without duplicates (the bundle may be that file). */
function bundle(caPem: string, bundlePath: string, env: NodeJS.ProcessEnv): string {
  const certificates = new Set<string>(caPem.match(PEM_CERTIFICATE) ?? []);
  const extra = env.NODE_EXTRA_CA_CERTS;
  if (extra) {
    const existing = readOrNull(extra);
    for (const pem of existing?.match(PEM_CERTIFICATE) ?? []) certificates.add(pem);
  }
  const content = `${[...certificates].join('\n')}\n`;
  if (readOrNull(bundlePath) !== content) writeAtomically(bundlePath, content, 0o644);
  return bundlePath;
}

/** Loads the key material from `dataDir`, making whatever is missing, expired or unreadable. */
export async function ensureSimulatorCertificates(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<SimulatorCertificates> {
  mkdirSync(dataDir, { recursive: true });
  const paths = {
    caCert: join(dataDir, 'ca.crt'),
    caKey: join(dataDir, 'ca.key'),
    serverCert: join(dataDir, 'server.crt'),
    serverKey: join(dataDir, 'server.key'),
    signingCert: join(dataDir, 'token-signing.crt'),
    signingKey: join(dataDir, 'token-signing.key'),
    bundle: join(dataDir, 'ca-bundle.pem'),
  };
  const read = () => ({
    caCert: readOrNull(paths.caCert),
    caKey: readOrNull(paths.caKey),
    serverCert: readOrNull(paths.serverCert),
    serverKey: readOrNull(paths.serverKey),
    signingCert: readOrNull(paths.signingCert),
    signingKey: readOrNull(paths.signingKey),
  });
  const allUsable = (files: ReturnType<typeof read>, now: number): boolean =>
    usableCa(files.caCert, files.caKey, now) &&
    usableServerCert(files.serverCert, files.serverKey, files.caCert ?? '', now) &&
    usableSigningPair(files.signingCert, files.signingKey, now);

  let files = read();
  if (!allUsable(files, Date.now())) {
    files = await withLock(dataDir, async () => {
      const now = Date.now();
      const current = read();
      const notBeforeDate = new Date(now - 3_600_000);
      if (!usableCa(current.caCert, current.caKey, now)) {
        const ca = await generate(
          [
            { name: 'commonName', value: CA_NAME },
            { name: 'organizationName', value: 'KeyDesk simulator (not a real certificate authority)' },
          ],
          {
            keyType: 'rsa',
            keySize: 2048,
            algorithm: 'sha256',
            notBeforeDate,
            notAfterDate: new Date(now + CA_DAYS * DAY_MS),
            extensions: [
              { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
              { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
            ],
          },
        );
        writeAtomically(paths.caKey, ca.private, 0o600);
        writeAtomically(paths.caCert, ca.cert, 0o644);
        current.caKey = ca.private;
        current.caCert = ca.cert;
        current.serverCert = null;
      }
      if (!usableServerCert(current.serverCert, current.serverKey, current.caCert ?? '', now)) {
        const server = await generate([{ name: 'commonName', value: 'localhost' }], {
          keyType: 'rsa',
          keySize: 2048,
          algorithm: 'sha256',
          notBeforeDate,
          notAfterDate: new Date(now + SERVER_CERT_DAYS * DAY_MS),
          ca: { key: current.caKey ?? '', cert: current.caCert ?? '' },
          extensions: [
            { name: 'basicConstraints', cA: false, critical: true },
            { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
            { name: 'extKeyUsage', serverAuth: true },
            {
              name: 'subjectAltName',
              altNames: [...SERVER_NAMES.dns.map((value) => ({ type: 2 as const, value })), ...SERVER_NAMES.ips.map((ip) => ({ type: 7 as const, ip }))],
            },
          ],
        });
        writeAtomically(paths.serverKey, server.private, 0o600);
        writeAtomically(paths.serverCert, server.cert, 0o644);
        current.serverKey = server.private;
        current.serverCert = server.cert;
      }
      if (!usableSigningPair(current.signingCert, current.signingKey, now)) {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
        const publicPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
        const signing = await generate([{ name: 'commonName', value: 'accounts.simulated-tenant.invalid' }], {
          keyType: 'rsa',
          algorithm: 'sha256',
          notBeforeDate,
          notAfterDate: new Date(now + CA_DAYS * DAY_MS),
          keyPair: { privateKey: privatePem, publicKey: publicPem },
          extensions: [
            { name: 'basicConstraints', cA: false },
            { name: 'keyUsage', digitalSignature: true },
          ],
        });
        writeAtomically(paths.signingKey, privatePem, 0o600);
        writeAtomically(paths.signingCert, signing.cert, 0o644);
        current.signingKey = privatePem;
        current.signingCert = signing.cert;
      }
      return current;
    });
  }
  if (!existsSync(paths.caCert)) throw new Error(`the simulator could not write its CA to ${paths.caCert}`);
  return {
    caCertPath: paths.caCert,
    caKeyPath: paths.caKey,
    caBundlePath: bundle(files.caCert ?? '', paths.bundle, env),
    serverCert: files.serverCert ?? '',
    serverKey: files.serverKey ?? '',
    signingKey: files.signingKey ?? '',
    signingCert: files.signingCert ?? '',
  };
}
