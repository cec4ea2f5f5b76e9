import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { isProductionEnvironment } from '../../src/config/config.js';
import { startSimulatedTenant, type SimulatedTenant } from '../index.js';

/**
 * `npm run demo`: the simulated tenant in this process, and KeyDesk in a child process wired to it
 * through the same environment variables a real deployment sets. The child is started with the
 * simulator's CA in NODE_EXTRA_CA_CERTS (Node reads it only at start), so MSAL, the Graph client
 * and jose talk HTTPS to the simulator exactly as they would to Entra and Graph.
 */

if (isProductionEnvironment()) {
  console.error('The KeyDesk demo refuses to run with NODE_ENV=production: it serves a simulated tenant. Use `npm start` for a deployment.');
  process.exit(1);
}

const root = resolve(import.meta.dirname, '..', '..', '..');
// KEYDESK_DEMO_DIR lets tests keep their demo apart from the one on a developer's screen.
const dataDir = resolve(process.env.KEYDESK_DEMO_DIR ?? join(root, 'data', 'demo'));
const auditFile = join(dataDir, 'audit.jsonl');
const logFile = join(dataDir, 'keydesk.log');
const hmacKeyFile = join(dataDir, 'audit-hmac.key');
const signingKeyFile = join(dataDir, 'audit-signing-key.pem');
const port = Number(process.env.PORT ?? 8080);

prepareDataDir();
// One key for the demo's audit trail, kept beside it, so `audit:verify` can check it across runs.
if (!existsSync(hmacKeyFile)) writeFileSync(hmacKeyFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
keepPrivate(hmacKeyFile);
const hmacKey = readFileSync(hmacKeyFile, 'utf8').trim();
// And an Ed25519 key for its signed checkpoints (<audit file>.checkpoints.jsonl), kept likewise.
if (!existsSync(signingKeyFile)) {
  writeFileSync(signingKeyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
}
keepPrivate(signingKeyFile);

const tenant = await startTenant();
const keydesk = startKeyDesk(tenant);
const url = `http://127.0.0.1:${port}`;

let stopping = false;
async function stop(code: number): Promise<never> {
  stopping = true;
  if (keydesk.exitCode === null) {
    const exited = new Promise((done) => keydesk.once('exit', done));
    keydesk.kill('SIGTERM');
    await exited;
  }
  await tenant.close();
  process.exit(code);
}
process.once('SIGINT', () => void stop(0));
process.once('SIGTERM', () => void stop(0));
keydesk.once('exit', (code) => {
  if (stopping) return;
  console.error(`\nKeyDesk stopped unexpectedly (exit ${code}). Its log: ${logFile}`);
  if (code !== 0 && port === 8080) console.error('If port 8080 is taken, run with another: PORT=8081 npm run demo');
  void stop(1);
});

await waitUntilReady();
printWelcome();

/**
 * The demo's folder holds the simulator's CA key and the audit trail's HMAC key: made 0700. An
 * existing folder is left as it is (it may be one the user named), with a warning when others can read it.
 */
function prepareDataDir(): void {
  if (mkdirSync(dataDir, { recursive: true, mode: 0o700 }) !== undefined) return;
  if ((statSync(dataDir).mode & 0o077) !== 0) {
    console.error(`Warning: ${dataDir} holds the demo's keys and others can read it; run: chmod 700 '${dataDir}'`);
  }
}

/** The demo's own key and log files: 0600 whatever the umask, or an earlier run, made them. */
function keepPrivate(file: string): void {
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
}

/**
 * Fixed ports when they are free, so the curl lines printed below stay true across restarts
 * (the CA, the signing key and the organisation are kept or re-derived too); any free ports else.
 */
async function startTenant(): Promise<SimulatedTenant> {
  const simulatorDir = join(dataDir, 'simulator');
  try {
    return await startSimulatedTenant({ dataDir: simulatorDir, entraPort: 8443, graphPort: 8444 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    return startSimulatedTenant({ dataDir: simulatorDir });
  }
}

/**
 * The shell's environment without what would point the demo at real shared state: the demo's
 * records go to its own file, never into a database or Redis a production setting names.
 */
function demoEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, AUDIT_STORE: 'file' };
  for (const name of ['DATABASE_URL', 'DATABASE_MIGRATION_URL', 'REDIS_URL', 'WORKERS', 'AUDIT_CHECKPOINT_URL']) delete env[name];
  return env;
}

function startKeyDesk(sim: SimulatedTenant): ChildProcess {
  const child = spawn(process.execPath, [join(root, 'dist', 'simulator', 'demo', 'keydesk.js')], {
    env: {
      ...demoEnvironment(),
      // AZURE_*, GRAPH_BASE_URL, API_AUDIENCE and NODE_EXTRA_CA_CERTS: what a deployment would set.
      // KeyDesk's own credential is a certificate, as the README recommends for a real tenant.
      ...sim.keydeskEnvironment({ credential: 'certificate' }),
      HOST: '127.0.0.1',
      PORT: String(port),
      // The helpdesk web UI, signed in through the simulated tenant's persona picker.
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      // The employees' own door: /self-service/, for the employee personas below.
      SELF_SERVICE: 'on',
      SELF_SERVICE_HELP_CONTACT: 'the Contoso IT Service Desk on +44 20 7946 0000',
      SESSION_SECRET: randomBytes(33).toString('base64url'),
      AUDIT_FILE: auditFile,
      AUDIT_HMAC_KEY: hmacKey,
      AUDIT_SIGNING_KEY_PATH: signingKeyFile,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    },
    // The IPC channel lets KeyDesk notice if this process dies without stopping it.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const log = createWriteStream(logFile, { flags: 'a', mode: 0o600 });
  log.once('open', () => keepPrivate(logFile));
  child.stderr?.pipe(log);
  // The full JSON log goes to the file; the console shows one line per disclosure outcome.
  createInterface({ input: child.stdout! }).on('line', (line) => {
    log.write(`${line}\n`);
    const entry = parse(line);
    const disclosure = entry?.disclosure as { outcome?: string; code?: string; deviceId?: string; ticket?: string } | undefined;
    if (disclosure?.outcome) {
      console.log(`  ${new Date().toLocaleTimeString()}  disclosure ${disclosure.outcome}${disclosure.code ? ` (${disclosure.code})` : ''}  ticket ${disclosure.ticket ?? '-'}`);
    }
  });
  return child;
}

function parse(line: string): Record<string, unknown> | null {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

async function waitUntilReady(): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt += 1) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  console.error(`KeyDesk did not become ready; its log: ${logFile}`);
  await stop(1);
}

/** A path as one shell word, whatever it holds (the printed lines are meant to be pasted). */
function shellQuoted(path: string): string {
  return /^[\w./:@-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`;
}

function printWelcome(): void {
  const { directory } = tenant;
  const device = directory.notable.typical;
  const key = directory.keysOf(device.deviceId)[0]!;
  const requester = directory.owners(device)[0] ?? directory.primaryUser(device);
  const disclose = tenant.ticketingApps.find((app) => app.roles.includes('BitLocker.Disclose'))!;
  const ca = tenant.caCertPath;
  const tokenUrl = `${tenant.authorityHost}/${tenant.tenantId}/oauth2/v2.0/token`;
  const lines = [
    '',
    'KeyDesk DEMO: a simulated Entra ID tenant and Microsoft Graph; no real directory, no real keys.',
    '',
    `  KeyDesk web UI   ${url}   (sign in as one of the staff personas below)`,
    `  KeyDesk API      ${url}/api/v1   (docs: ${url}/docs)`,
    `  Simulated Entra  ${tenant.authorityHost}/${tenant.tenantId}`,
    `  Simulated Graph  ${tenant.graphBaseUrl}/v1.0`,
    `  Its CA           ${ca}`,
    `  In a browser     its sign-in page is ${tenant.authorityHost}, under that CA: to trust it, see "Trusting the demo's CA in a browser" in README.md (Quick start)`,
    `  Audit trail      ${auditFile}`,
    `  KeyDesk log      ${logFile}`,
    '',
    'Ticketing apps (client credentials against the simulated authority):',
    ...tenant.ticketingApps.map((app) => `  ${app.name.padEnd(26)} client_id ${app.clientId}  secret ${app.clientSecret}  roles: ${app.roles.join(', ') || '(none)'}`),
    '',
    'Helpdesk staff personas (pick one on the simulated sign-in page the web UI sends you to):',
    ...tenant.staff.map((person) => `  ${person.name.padEnd(26)} ${person.upn.padEnd(36)} roles: ${person.roles.join(', ') || '(none)'}`),
    '',
    `Employees (no KeyDesk role; self-service at ${url}/self-service/ recovers their own device):`,
    ...tenant.employees.map((person) => {
      const devices = tenant.directory.devices.filter((d) => d.ownerIds.includes(person.oid) || d.primaryUserId === person.oid).map((d) => d.displayName);
      return `  ${person.name.padEnd(26)} ${person.upn.padEnd(36)} devices: ${devices.join(', ')}`;
    }),
    '',
    'Try it (paste into a shell):',
    '',
    `  TOKEN=$(curl -s --cacert ${shellQuoted(ca)} ${tokenUrl} \\`,
    `    -d grant_type=client_credentials -d client_id=${disclose.clientId} \\`,
    `    -d client_secret='${disclose.clientSecret}' -d scope=${tenant.keydeskApp.appIdUri}/.default \\`,
    `    | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')`,
    '',
    `  curl -s -w '\\n' -H "Authorization: Bearer $TOKEN" '${url}/api/v1/devices?name=${encodeURIComponent(device.displayName)}'`,
    '',
    `  curl -s -w '\\n' -H "Authorization: Bearer $TOKEN" ${url}/api/v1/devices/${device.deviceId}/recovery-keys`,
    '',
    `  curl -s -w '\\n' -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' ${url}/api/v1/disclosures -d '{`,
    `    "deviceName": "${device.displayName}", "keyId": "${key.id.slice(0, 8).toUpperCase()}", "ticket": "INC0012345",`,
    `    "reason": "forgotten_pin", "requesterUpn": "${requester?.userPrincipalName ?? 'someone@contoso.example'}" }'`,
    '',
    `Then check the audit trail:  AUDIT_HMAC_KEY=$(cat ${shellQuoted(hmacKeyFile)}) npm run audit:verify -- ${shellQuoted(auditFile)} \\`,
    `    --checkpoint ${shellQuoted(`${auditFile}.checkpoints.jsonl`)} --public-key ${shellQuoted(signingKeyFile)}`,
    '  (a checkpoint is signed every minute while records are added, and when KeyDesk stops)',
    '',
    'Disclosures appear below as they happen. Ctrl+C stops the demo.',
    '',
  ];
  console.log(lines.join('\n'));
}
