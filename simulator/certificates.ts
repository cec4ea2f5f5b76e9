import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generate } from 'selfsigned';

/**
 * The simulator's key material, kept in its data folder and reused across runs: a local CA (MSAL
 * talks only to https authorities, so the simulated Entra and Graph need certificates a KeyDesk
 * process can be told to trust), the TLS server certificate it signs, the tenant's token signing
 * key with its self-signed certificate (Entra publishes one in each JWKS entry's x5c), and the
 * certificate registered on KeyDesk's app registration as its client credential (one PEM with the
 * certificate and its unencrypted private key, as AZURE_CLIENT_CERTIFICATE_PATH takes it).
 * Reuse keeps start-up fast, lets a long-running KeyDesk keep trusting the CA and keeps a
 * KeyDesk started with the client certificate valid across simulator restarts.
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
  /** KeyDesk's client certificate and its private key in one PEM file (0600): what AZURE_CLIENT_CERTIFICATE_PATH names. */
  keydeskCertificatePath: string;
  /** The certificate alone (PEM), as registered under "Certificates & secrets" of KeyDesk's app registration. */
  keydeskCertificate: string;
}

const CA_NAME = 'KeyDesk Simulated Tenant Local CA';
const DAY_MS = 86_400_000;
/** Browsers refuse server certificates valid for more than 398 days. */
const SERVER_CERT_DAYS = 397;
const CA_DAYS = 5 * 365;
const CLIENT_CERT_DAYS = 2 * 365;
const RENEW_WITHIN_MS = 7 * DAY_MS;
const SERVER_NAMES = { dns: ['localhost'], ips: ['127.0.0.1', '::1'] };
const LOCK_STALE_MS = 60_000;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PEM_PRIVATE_KEY = /-----BEGIN (?:RSA )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA )?PRIVATE KEY-----/;

interface Pair {
  cert: string | null;
  key: string | null;
}

type Files = Record<'ca' | 'server' | 'signing' | 'client', Pair>;

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

/** Parses a pair; null when either half is missing, unreadable, the two do not belong together, or it expires soon. */
function parsedPair(pair: Pair, now: number): X509Certificate | null {
  if (pair.cert === null || pair.key === null) return null;
  try {
    const certificate = new X509Certificate(pair.cert);
    return certificate.checkPrivateKey(createPrivateKey(pair.key)) && validLongEnough(certificate, now) ? certificate : null;
  } catch {
    return null;
  }
}

function usableCa(pair: Pair, now: number): boolean {
  return parsedPair(pair, now)?.ca === true;
}

function usableServerCert(pair: Pair, caPem: string | null, now: number): boolean {
  const certificate = parsedPair(pair, now);
  if (certificate === null || caPem === null) return false;
  try {
    const ca = new X509Certificate(caPem);
    const names = certificate.subjectAltName ?? '';
    return (
      certificate.checkIssued(ca) &&
      certificate.verify(ca.publicKey) &&
      SERVER_NAMES.dns.every((name) => names.includes(`DNS:${name}`)) &&
      SERVER_NAMES.ips.every((ip) => certificate.checkIP(ip) !== undefined)
    );
  } catch {
    return false;
  }
}

/** Entra takes RSA certificates as client credentials; KeyDesk's client certificate is made as one. */
function usableClientCert(pair: Pair, now: number): boolean {
  return parsedPair(pair, now)?.publicKey.asymmetricKeyType === 'rsa';
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

function validity(now: number, days: number): { notBeforeDate: Date; notAfterDate: Date } {
  // An hour back, so a machine whose clock is a little behind still accepts it.
  return { notBeforeDate: new Date(now - 3_600_000), notAfterDate: new Date(now + days * DAY_MS) };
}

async function makeCa(now: number): Promise<{ cert: string; key: string }> {
  const ca = await generate(
    [
      { name: 'commonName', value: CA_NAME },
      { name: 'organizationName', value: 'KeyDesk simulator (not a real certificate authority)' },
    ],
    {
      keyType: 'rsa',
      keySize: 2048,
      algorithm: 'sha256',
      ...validity(now, CA_DAYS),
      extensions: [
        { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    },
  );
  return { cert: ca.cert, key: ca.private };
}

async function makeServerCertificate(ca: { cert: string; key: string }, now: number): Promise<{ cert: string; key: string }> {
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    ...validity(now, SERVER_CERT_DAYS),
    ca,
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
  return { cert: server.cert, key: server.private };
}

/** A self-signed RSA certificate with a PKCS#8 key, for token signing or a client credential. */
async function makeSelfSigned(commonName: string, now: number, days: number): Promise<{ cert: string; key: string }> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicKey = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  const made = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'rsa',
    algorithm: 'sha256',
    ...validity(now, days),
    keyPair: { privateKey: key, publicKey },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true },
    ],
  });
  return { cert: made.cert, key };
}

/** Splits a PEM holding a certificate and its private key, as KeyDesk's certificate file does. */
function splitPem(pem: string | null): Pair {
  if (pem === null) return { cert: null, key: null };
  return { cert: pem.match(PEM_CERTIFICATE)?.[0] ?? null, key: PEM_PRIVATE_KEY.exec(pem)?.[0] ?? null };
}

function joinPem(pair: { cert: string; key: string }): string {
  return `${pair.cert.trim()}\n${pair.key.trim()}\n`;
}

function pathsIn(dataDir: string) {
  return {
    caCert: join(dataDir, 'ca.crt'),
    caKey: join(dataDir, 'ca.key'),
    serverCert: join(dataDir, 'server.crt'),
    serverKey: join(dataDir, 'server.key'),
    signingCert: join(dataDir, 'token-signing.crt'),
    signingKey: join(dataDir, 'token-signing.key'),
    keydeskCertificate: join(dataDir, 'keydesk-client-certificate.pem'),
    bundle: join(dataDir, 'ca-bundle.pem'),
  };
}

type Paths = ReturnType<typeof pathsIn>;

function readFiles(paths: Paths): Files {
  return {
    ca: { cert: readOrNull(paths.caCert), key: readOrNull(paths.caKey) },
    server: { cert: readOrNull(paths.serverCert), key: readOrNull(paths.serverKey) },
    signing: { cert: readOrNull(paths.signingCert), key: readOrNull(paths.signingKey) },
    client: splitPem(readOrNull(paths.keydeskCertificate)),
  };
}

function allUsable(files: Files, now: number): boolean {
  return usableCa(files.ca, now) && usableServerCert(files.server, files.ca.cert, now) && usableSigningPair(files, now) && usableClientCert(files.client, now);
}

function usableSigningPair(files: Files, now: number): boolean {
  return parsedPair(files.signing, now) !== null;
}

/** Makes whatever is missing or unusable, writing keys 0600; a new CA makes a new server certificate too. */
async function renew(paths: Paths, now: number): Promise<Files> {
  const files = readFiles(paths);
  if (!usableCa(files.ca, now)) {
    files.ca = await makeCa(now);
    writeAtomically(paths.caKey, files.ca.key!, 0o600);
    writeAtomically(paths.caCert, files.ca.cert!, 0o644);
    files.server = { cert: null, key: null };
  }
  if (!usableServerCert(files.server, files.ca.cert, now)) {
    files.server = await makeServerCertificate({ cert: files.ca.cert!, key: files.ca.key! }, now);
    writeAtomically(paths.serverKey, files.server.key!, 0o600);
    writeAtomically(paths.serverCert, files.server.cert!, 0o644);
  }
  if (!usableSigningPair(files, now)) {
    files.signing = await makeSelfSigned('accounts.simulated-tenant.invalid', now, CA_DAYS);
    writeAtomically(paths.signingKey, files.signing.key!, 0o600);
    writeAtomically(paths.signingCert, files.signing.cert!, 0o644);
  }
  if (!usableClientCert(files.client, now)) {
    const made = await makeSelfSigned('KeyDesk (simulated tenant client credential)', now, CLIENT_CERT_DAYS);
    writeAtomically(paths.keydeskCertificate, joinPem(made), 0o600);
    files.client = made;
  }
  return files;
}

/** Loads the key material from `dataDir` (made 0700 if new), making whatever is missing, expired or unreadable. */
export async function ensureSimulatorCertificates(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<SimulatorCertificates> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const paths = pathsIn(dataDir);
  let files = readFiles(paths);
  if (!allUsable(files, Date.now())) files = await withLock(dataDir, () => renew(paths, Date.now()));
  if (!existsSync(paths.caCert)) throw new Error(`the simulator could not write its CA to ${paths.caCert}`);
  return {
    caCertPath: paths.caCert,
    caKeyPath: paths.caKey,
    caBundlePath: bundle(files.ca.cert ?? '', paths.bundle, env),
    serverCert: files.server.cert ?? '',
    serverKey: files.server.key ?? '',
    signingKey: files.signing.key ?? '',
    signingCert: files.signing.cert ?? '',
    keydeskCertificatePath: paths.keydeskCertificate,
    keydeskCertificate: files.client.cert ?? '',
  };
}

export interface ClientCertificateFile {
  path: string;
  /** The certificate alone (PEM). */
  certificate: string;
  /** SHA-256 thumbprint, lower-case hex, as the Entra admin center shows it. */
  thumbprintSha256: string;
}

/**
 * Writes a new self-signed RSA certificate with its unencrypted private key to `path` (0600), in
 * the form AZURE_CLIENT_CERTIFICATE_PATH takes. No app registration of the simulated tenant knows
 * it: for tests of a certificate Entra refuses (AADSTS700027).
 */
export async function createClientCertificateFile(path: string, options: { commonName?: string; days?: number } = {}): Promise<ClientCertificateFile> {
  const made = await makeSelfSigned(options.commonName ?? 'Unregistered client certificate (simulated tenant)', Date.now(), options.days ?? 30);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeAtomically(path, joinPem(made), 0o600);
  return { path, certificate: made.cert, thumbprintSha256: new X509Certificate(made.cert).fingerprint256.replaceAll(':', '').toLowerCase() };
}
