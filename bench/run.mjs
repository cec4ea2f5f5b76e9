// KeyDesk benchmark: the real KeyDesk server (its own process or processes, a real fsynced audit
// file or a real PostgreSQL trail) wired to the simulated tenant (this process), loaded by
// autocannon (also this process). Bounded: every scenario runs a fixed number of seconds against
// loopback addresses only.
//
//   npm run bench                 all scenarios; results in data/bench/latest.json
//   npm run bench -- --write      the same, and the table in bench/RESULTS.md replaced by this run's
//   BENCH_SECONDS=5 npm run bench shorter runs
//   BENCH_ONLY=disclosure@0 npm run bench          scenarios by name@latency[/store[xworkers]], comma-separated
//   BENCH_ONLY=disclosure@0/postgresx2 npm run bench
//   BENCH_KEYDESK_ARGS=--cpu-prof npm run bench    extra node flags for KeyDesk (profiles land in data/bench)
//   BENCH_NODE_OPTIONS='' npm run bench            NODE_OPTIONS for KeyDesk instead of the image's (Dockerfile)
//   BENCH_LOG_LEVEL=debug npm run bench            KeyDesk's log level (debug logs each Graph call's duration)
//   BENCH_LATENCY_CONNECTIONS=4 npm run bench      connections of the 25 ms scenarios
//   BENCH_POSTGRES_URL=postgres://…/postgres       the server the PostgreSQL scenarios make their databases on
//   BENCH_QUIET_WAIT_SECONDS=60                    how long each scenario waits for an idle host before it starts
//
// KeyDesk runs with the environment the container image sets (Dockerfile ENV: NODE_ENV,
// NODE_OPTIONS), so its memory figures are the image's. Node reads NODE_EXTRA_CA_CERTS only at
// start, so KeyDesk runs as a child process started with the simulator's CA bundle.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import autocannon from 'autocannon';
import { startSimulatedTenant } from '../dist/simulator/index.js';
import { childPids, peakRssMb, startUsage, waitForQuietHost } from './usage.mjs';
import { createBenchDatabase, postgresUnavailable } from './postgres.mjs';
import { markdown } from './table.mjs';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, 'data', 'bench');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 3;
const LATENCY_CONNECTIONS = Number(process.env.BENCH_LATENCY_CONNECTIONS ?? 4);

const ALL_SCENARIOS = [
  { name: 'disclosure', latencyMs: 0, connections: 64, store: 'file', workers: 1 },
  { name: 'disclosure', latencyMs: 0, connections: 64, store: 'postgres', workers: 1 },
  { name: 'disclosure', latencyMs: 0, connections: 64, store: 'postgres', workers: 2 },
  // Latency scenarios run lightly loaded: they measure KeyDesk's overhead over the Graph floor.
  { name: 'disclosure', latencyMs: 25, connections: LATENCY_CONNECTIONS, store: 'file', workers: 1 },
  { name: 'disclosure', latencyMs: 25, connections: LATENCY_CONNECTIONS, store: 'postgres', workers: 1 },
  { name: 'search', latencyMs: 0, connections: 64, store: 'file', workers: 1 },
  { name: 'search', latencyMs: 25, connections: LATENCY_CONNECTIONS, store: 'file', workers: 1 },
];
const scenarioNames = (s) => [`${s.name}@${s.latencyMs}`, `${s.name}@${s.latencyMs}/${s.store}`, `${s.name}@${s.latencyMs}/${s.store}x${s.workers}`];
const SCENARIOS = ALL_SCENARIOS.filter((s) => !process.env.BENCH_ONLY || process.env.BENCH_ONLY.split(',').some((only) => scenarioNames(s).includes(only)));
const KEYDESK_ARGS = (process.env.BENCH_KEYDESK_ARGS ?? '').split(' ').filter(Boolean);

/** A scenario that cannot run on this commit or host: reported as skipped, the run goes on. */
class Skip extends Error {}

/** The runtime stage's ENV of the Dockerfile: what KeyDesk's process gets in the image. */
function imageEnvironment() {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const env = {};
  for (const line of runtime.split('\n').filter((l) => /^ENV\s/.test(l))) {
    for (const [, name, quoted, plain] of line.slice(4).matchAll(/([A-Z_][A-Z0-9_]*)=(?:"([^"]*)"|(\S*))/g)) env[name] = quoted ?? plain;
  }
  // The bench chooses where KeyDesk listens and writes; the rest is the image's.
  for (const name of ['HOST', 'PORT', 'AUDIT_FILE']) delete env[name];
  if (process.env.BENCH_NODE_OPTIONS !== undefined) env.NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS;
  return env;
}
const IMAGE_ENV = imageEnvironment();

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Devices a disclosure can target unambiguously: unique name, one key, an owner to name. */
function disclosureTargets(directory) {
  return directory.devices
    .filter((device) => device.accountEnabled && directory.devicesNamed(device.displayName).length === 1)
    // A disabled owner (a leaver) is refused as requester_disabled: only enabled owners ask.
    .map((device) => ({ device, keys: directory.keysOf(device.deviceId), owners: directory.owners(device).filter((owner) => owner.accountEnabled) }))
    .filter(({ keys, owners }) => keys.length === 1 && owners.length > 0)
    .map(({ device, keys, owners }) => ({
      deviceName: device.displayName,
      keyId: keys[0].id.slice(0, 8).toUpperCase(),
      ticket: 'INC0012345',
      reason: 'forgotten_pin',
      requesterUpn: owners[0].userPrincipalName,
      agentUpn: 'bench.agent@contoso.example',
    }));
}

const label = (s) => `${s.name}-${s.latencyMs}ms-${s.store}${s.workers > 1 ? `x${s.workers}` : ''}`;

function keydeskEnvironment(tenant, scenario, port, files, database) {
  return {
    PATH: process.env.PATH,
    ...IMAGE_ENV,
    NODE_EXTRA_CA_CERTS: tenant.caBundlePath,
    AZURE_TENANT_ID: tenant.tenantId,
    AZURE_CLIENT_ID: tenant.keydeskApp.clientId,
    AZURE_CLIENT_SECRET: tenant.keydeskApp.clientSecret,
    AZURE_AUTHORITY_HOST: tenant.authorityHost,
    GRAPH_BASE_URL: tenant.graphBaseUrl,
    API_AUDIENCE: tenant.keydeskApp.appIdUri,
    HOST: '127.0.0.1',
    PORT: String(port),
    AUDIT_FILE: files.auditFile,
    AUDIT_HMAC_KEY: 'bench-audit-hmac-key-0123456789abcdef0123456789',
    ...(database ? { AUDIT_STORE: 'postgres', DATABASE_URL: database.url } : {}),
    ...(scenario.workers > 1 ? { WORKERS: String(scenario.workers) } : {}),
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    // The load comes from one ticketing app: its rate limits would measure the limiter, not KeyDesk.
    RATE_LIMIT_DISCLOSURES_PER_MINUTE: '0',
    RATE_LIMIT_SEARCHES_PER_MINUTE: '0',
    ...(process.env.UV_THREADPOOL_SIZE ? { UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE } : {}),
  };
}

/** Resolves once /readyz answers 200; throws Skip with KeyDesk's last words if it exits first. */
async function waitUntilReady(url, child, log) {
  let exit = null;
  child.once('exit', (code, signal) => (exit = { code, signal }));
  for (let i = 0; i < 300; i += 1) {
    if (exit) {
      const lines = Buffer.concat(log).toString('utf8').trim().split('\n');
      const last = lines.reverse().find((line) => line.trim()) ?? '';
      const message = (() => {
        try {
          return JSON.parse(last).msg ?? last;
        } catch {
          return last;
        }
      })();
      throw new Skip(`KeyDesk exited at start-up (${exit.code ?? exit.signal}): ${message.slice(0, 200)}`);
    }
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`KeyDesk did not become ready at ${url}`);
}

async function startKeyDesk(tenant, scenario, database) {
  const port = await freePort();
  const files = { auditFile: join(DATA, `audit-${label(scenario)}.jsonl`), logFile: join(DATA, `keydesk-${label(scenario)}.log`) };
  rmSync(files.auditFile, { force: true });
  const child = spawn(process.execPath, [...KEYDESK_ARGS, join(ROOT, 'dist', 'src', 'server', 'main.js')], {
    cwd: DATA,
    env: keydeskEnvironment(tenant, scenario, port, files, database),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = [];
  child.stdout.on('data', (chunk) => log.push(chunk));
  child.stderr.on('data', (chunk) => log.push(chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    writeFileSync(files.logFile, Buffer.concat(log));
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(url, child, log);
    if (scenario.workers > 1) await waitForWorkers(child.pid, scenario.workers);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url,
    pid: child.pid,
    auditFile: files.auditFile,
    workerPids: () => childPids(child.pid),
    responseTimesSince: (since) => responseTimes(log, since),
    problemsLoggedSince: (since) => problemsLogged(log, since),
    stop,
  };
}

/** KeyDesk's JSON log lines whose time is `since` (epoch ms) or later, parsed; anything else (a warning from Node, say) left out. */
function logEntriesSince(log, since) {
  const entries = [];
  for (const line of Buffer.concat(log).toString('utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line);
      if (Date.parse(entry.time) >= since) entries.push(entry);
    } catch {
      // Not a log line of KeyDesk's.
    }
  }
  return entries;
}

/**
 * KeyDesk's warnings and errors since `since` (epoch ms), counted by message: a run that logs
 * them (an alert rule that could not be evaluated, a refresh lost to a pool timeout) measured
 * KeyDesk failing quietly, whatever its req/s says.
 */
function problemsLogged(log, since) {
  const counts = {};
  for (const entry of logEntriesSince(log, since)) {
    const level = typeof entry.level === 'number' ? entry.level : ({ warn: 40, error: 50, fatal: 60 }[entry.level] ?? 0);
    if (level < 40) continue;
    const key = `${level >= 50 ? 'error' : 'warn'}: ${entry.msg}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** KeyDesk's own response times (its `request completed` lines, whole ms) logged since `since` (epoch ms). */
function responseTimes(log, since) {
  return logEntriesSince(log, since)
    .filter((entry) => entry.msg === 'request completed')
    .map((entry) => entry.responseTime)
    .sort((a, b) => a - b);
}

/** Cluster mode: the primary's children, each listening once /readyz has been answered by all. */
async function waitForWorkers(pid, workers) {
  for (let i = 0; i < 100; i += 1) {
    if (childPids(pid).length >= workers) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Skip(`WORKERS=${workers} ran ${childPids(pid).length} worker processes (cluster mode is not on this commit)`);
}

function load(options) {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

function requestsOf(tenant, scenario) {
  const targets = disclosureTargets(tenant.directory);
  // What an agent types before the list narrows to a device or two: all but the last character.
  const prefixes = [...new Set(tenant.directory.devices.map((d) => d.displayName.slice(0, -1)))];
  let next = 0;
  const request =
    scenario.name === 'disclosure'
      ? { method: 'POST', path: '/api/v1/disclosures', setupRequest: (req) => ({ ...req, body: JSON.stringify(targets[next++ % targets.length]) }) }
      : { method: 'GET', setupRequest: (req) => ({ ...req, path: `/api/v1/devices?prefix=${encodeURIComponent(prefixes[next++ % prefixes.length])}` }) };
  return { request, targets };
}

/**
 * Every target through every connection: node:cluster hands connections to the workers in turn,
 * so with two connections per worker each worker's device cache holds every target.
 */
function warmEveryWorker(options, targets, workers) {
  const connections = 2 * workers;
  // autocannon walks each connection through the whole list of requests, in order.
  const requests = targets.map((target) => ({ method: 'POST', path: '/api/v1/disclosures', body: JSON.stringify(target) }));
  return load({ ...options, connections, requests, amount: targets.length * connections });
}

async function auditRecordsOf(keydesk, database) {
  if (database) return database.auditRecords();
  return existsSync(keydesk.auditFile) ? readFileSync(keydesk.auditFile, 'utf8').split('\n').filter(Boolean).length : 0;
}

async function measure(tenant, scenario, keydesk, database) {
  const token = await tenant.issueAppToken(tenant.ticketingApps.find((app) => app.roles.includes('BitLocker.Disclose')).clientId);
  const { request, targets } = requestsOf(tenant, scenario);
  const warmedFrom = Date.now();
  const options = { url: keydesk.url, connections: scenario.connections, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, requests: [request] };
  // Warm-up: MSAL's token, the JWKS, V8's JIT, and every target's device resolution (the device
  // cache, one per worker), as in a running service; the timed run then stays inside
  // DEVICE_CACHE_TTL_MS (30 s).
  await load({ ...options, duration: WARMUP_SECONDS });
  if (scenario.name === 'disclosure') await warmEveryWorker(options, targets, scenario.workers);
  if (database && !(await database.auditRecords())) {
    throw new Skip('AUDIT_STORE=postgres wrote no record to PostgreSQL (the PostgreSQL store is not on this commit)');
  }
  const recordsBefore = await auditRecordsOf(keydesk, database);
  tenant.clearLogs();
  const usage = await startUsage({
    keydeskPrimary: () => [keydesk.pid],
    keydeskWorkers: () => keydesk.workerPids(),
    postgres: () => (database ? database.serverPids() : []),
    simulatorAndLoad: () => [process.pid],
  });
  const timedFrom = Date.now();
  const result = await load({ ...options, duration: SECONDS });
  const cpu = await usage.stop();
  const graphRequests = tenant.counters().graphRequests;
  const rss = { primary: peakRssMb(keydesk.pid), workers: keydesk.workerPids().map(peakRssMb) };
  const own = keydesk.responseTimesSince(timedFrom);
  const keydeskP50Ms = own.length ? own[Math.floor(own.length / 2)] : null;
  const problemsLogged = keydesk.problemsLoggedSince(warmedFrom);
  return { result, cpu, rss, graphRequests, keydeskP50Ms, problemsLogged, records: (await auditRecordsOf(keydesk, database)) - recordsBefore };
}

async function runScenario(tenant, scenario, index) {
  const hostBusyBefore = await waitForQuietHost(Number(process.env.BENCH_QUIET_WAIT_SECONDS ?? 60) * 1000);
  tenant.knobs.reset();
  tenant.knobs.setLatency(scenario.latencyMs);
  let database = null;
  if (scenario.store === 'postgres') {
    const unavailable = await postgresUnavailable();
    if (unavailable) throw new Skip(unavailable);
    database = await createBenchDatabase(`keydesk_bench_${process.pid}_${index}`);
  }
  try {
    const keydesk = await startKeyDesk(tenant, scenario, database);
    try {
      return { ...(await measure(tenant, scenario, keydesk, database)), hostBusyBefore };
    } finally {
      await keydesk.stop();
    }
  } finally {
    await database?.drop();
  }
}

function summary(scenario, measured) {
  const { result, cpu, rss, graphRequests, records, hostBusyBefore, keydeskP50Ms, problemsLogged } = measured;
  const ok = result['2xx'];
  const keydeskCpuSeconds = cpu.seconds.keydeskPrimary + cpu.seconds.keydeskWorkers;
  // Warm disclosure: the key read alone (key metadata is cached with the device). Prefix search
  // (never cached): one page of devices. Either way one Graph round trip is the floor.
  const floorMs = scenario.latencyMs;
  return {
    requestsPerSecond: Math.round(ok / SECONDS),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    // What KeyDesk itself logs as its response time: the rest of p50Ms is loopback and autocannon.
    keydeskP50Ms,
    graphRequestsPerRequest: ok ? Math.round((graphRequests / ok) * 100) / 100 : null,
    floorMs,
    overheadP50Ms: Math.round((result.latency.p50 - floorMs) * 10) / 10,
    cpuPercent: cpu.percent,
    // CPU time, unlike throughput, hardly changes when something else shares the host.
    keydeskCpuMsPerRequest: ok ? Math.round((keydeskCpuSeconds / ok) * 1000 * 100) / 100 : null,
    postgresCpuMsPerRequest: ok ? Math.round((cpu.seconds.postgres / ok) * 1000 * 100) / 100 : null,
    peakRssMb: rss,
    hostBusyPercentBefore: hostBusyBefore,
    auditRecords: records,
    // From the warm-up on (start-up's own warnings, such as no signing key, are not counted).
    problemsLogged,
  };
}

function machine() {
  const cpu = cpus();
  return {
    cpu: `${cpu.length} × ${cpu[0]?.model ?? 'unknown'}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel: release(),
    node: process.version,
    date: new Date().toISOString(),
    seconds: SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    keydeskEnv: IMAGE_ENV,
  };
}

mkdirSync(DATA, { recursive: true });
const tenant = await startSimulatedTenant({ dataDir: join(DATA, 'simulator') });
const results = [];
try {
  for (const [index, scenario] of SCENARIOS.entries()) {
    const head = { scenario: `${scenario.name} @ ${scenario.latencyMs} ms Graph latency`, store: scenario.store, workers: scenario.workers, connections: scenario.connections };
    let result;
    try {
      result = { ...head, ...summary(scenario, await runScenario(tenant, scenario, index)) };
    } catch (error) {
      if (!(error instanceof Skip)) throw error;
      result = { ...head, skipped: error.message };
    }
    console.log(JSON.stringify(result));
    results.push(result);
  }
} finally {
  await tenant.close();
}
const host = machine();
writeFileSync(join(DATA, 'latest.json'), JSON.stringify({ host, results }, null, 2));

if (!process.argv.slice(2).includes('--write')) {
  console.log(`\nresults in ${join(DATA, 'latest.json')}; bench/RESULTS.md left alone (npm run bench -- --write replaces its table)`);
  process.exit(0);
}
// Only a full run of every scenario may replace the table the notes in RESULTS.md refer to.
const overrides = ['BENCH_ONLY', 'BENCH_SECONDS', 'BENCH_KEYDESK_ARGS', 'BENCH_LATENCY_CONNECTIONS', 'BENCH_NODE_OPTIONS', 'BENCH_LOG_LEVEL'].filter((name) => process.env[name] !== undefined);
if (overrides.length > 0) {
  console.log(`\npartial or modified run (${overrides.join(', ')}): results in ${join(DATA, 'latest.json')}, bench/RESULTS.md left alone`);
  process.exit(0);
}
const resultsFile = join(ROOT, 'bench', 'RESULTS.md');
const START = '<!-- results:start -->';
const END = '<!-- results:end -->';
const current = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : `# Benchmark results\n\n${START}\n${END}\n`;
const table = `${START}\n${markdown(results, host)}\n${END}`;
writeFileSync(resultsFile, current.replace(new RegExp(`${START}[\\s\\S]*${END}`), table));
console.log(`\nwritten to ${resultsFile}`);
