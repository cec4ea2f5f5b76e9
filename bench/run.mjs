// KeyDesk benchmark: the real KeyDesk server (its own process, real fsync'd audit file) wired to
// the simulated tenant (this process), loaded by autocannon. Bounded: every scenario runs a fixed
// number of seconds against loopback addresses only.
//
//   npm run bench                 all scenarios; results in data/bench/latest.json
//   npm run bench -- --write      the same, and the table in bench/RESULTS.md replaced by this run's
//   BENCH_SECONDS=5 npm run bench shorter runs
//   BENCH_ONLY=disclosure@0 npm run bench        one scenario (name@latency)
//   BENCH_KEYDESK_ARGS=--cpu-prof npm run bench  extra node flags for KeyDesk (profiles land in data/bench)
//   BENCH_LOG_LEVEL=debug npm run bench           KeyDesk's log level (debug logs each Graph call's duration)
//   BENCH_LATENCY_CONNECTIONS=4 npm run bench     connections of the 25 ms disclosure scenario
//
// Node reads NODE_EXTRA_CA_CERTS only at start, so KeyDesk runs as a child process started with
// the simulator's CA bundle.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import autocannon from 'autocannon';
import { startSimulatedTenant } from '../dist/simulator/index.js';

const ROOT = join(import.meta.dirname, '..');
const DATA = join(ROOT, 'data', 'bench');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 3;

const SCENARIOS = [
  { name: 'disclosure', latencyMs: 0, connections: 64 },
  // Latency scenarios run lightly loaded: they measure KeyDesk's overhead over the Graph floor.
  { name: 'disclosure', latencyMs: 25, connections: Number(process.env.BENCH_LATENCY_CONNECTIONS ?? 4) },
  { name: 'search', latencyMs: 0, connections: 64 },
  { name: 'search', latencyMs: 25, connections: Number(process.env.BENCH_LATENCY_CONNECTIONS ?? 4) },
].filter((s) => !process.env.BENCH_ONLY || process.env.BENCH_ONLY.split(',').includes(`${s.name}@${s.latencyMs}`));
const KEYDESK_ARGS = (process.env.BENCH_KEYDESK_ARGS ?? '').split(' ').filter(Boolean);

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

async function startKeyDesk(tenant, scenario) {
  const port = await freePort();
  const auditFile = join(DATA, `audit-${scenario.name}-${scenario.latencyMs}ms.jsonl`);
  const logFile = join(DATA, `keydesk-${scenario.name}-${scenario.latencyMs}ms.log`);
  rmSync(auditFile, { force: true });
  const child = spawn(process.execPath, [...KEYDESK_ARGS, join(ROOT, 'dist', 'src', 'server', 'main.js')], {
    cwd: DATA,
    env: {
      PATH: process.env.PATH,
      NODE_EXTRA_CA_CERTS: tenant.caBundlePath,
      AZURE_TENANT_ID: tenant.tenantId,
      AZURE_CLIENT_ID: tenant.keydeskApp.clientId,
      AZURE_CLIENT_SECRET: tenant.keydeskApp.clientSecret,
      AZURE_AUTHORITY_HOST: tenant.authorityHost,
      GRAPH_BASE_URL: tenant.graphBaseUrl,
      API_AUDIENCE: tenant.keydeskApp.appIdUri,
      HOST: '127.0.0.1',
      PORT: String(port),
      AUDIT_FILE: auditFile,
      AUDIT_HMAC_KEY: 'bench-audit-hmac-key-0123456789abcdef0123456789',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      // The load comes from one ticketing app: its rate limits would measure the limiter, not KeyDesk.
      RATE_LIMIT_DISCLOSURES_PER_MINUTE: '0',
      RATE_LIMIT_SEARCHES_PER_MINUTE: '0',
      ...(process.env.UV_THREADPOOL_SIZE ? { UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = [];
  child.stdout.on('data', (chunk) => log.push(chunk));
  child.stderr.on('data', (chunk) => log.push(chunk));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i += 1) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url,
    pid: child.pid,
    auditFile,
    peakRssMb() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(status.match(/VmHWM:\s+(\d+) kB/)[1]) / 1024;
    },
    async stop() {
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      writeFileSync(logFile, Buffer.concat(log));
    },
  };
}

function load(options) {
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

async function runScenario(tenant, scenario) {
  tenant.knobs.reset();
  tenant.knobs.setLatency(scenario.latencyMs);
  const keydesk = await startKeyDesk(tenant, scenario);
  const token = await tenant.issueAppToken(tenant.ticketingApps.find((app) => app.roles.includes('BitLocker.Disclose')).clientId);
  const targets = disclosureTargets(tenant.directory);
  // What an agent types before the list narrows to a device or two: all but the last character.
  const prefixes = [...new Set(tenant.directory.devices.map((d) => d.displayName.slice(0, -1)))];
  let next = 0;
  const request =
    scenario.name === 'disclosure'
      ? {
          method: 'POST',
          path: '/api/v1/disclosures',
          setupRequest: (req) => ({ ...req, body: JSON.stringify(targets[next++ % targets.length]) }),
        }
      : {
          method: 'GET',
          setupRequest: (req) => ({ ...req, path: `/api/v1/devices?prefix=${encodeURIComponent(prefixes[next++ % prefixes.length])}` }),
        };
  const options = {
    url: keydesk.url,
    connections: scenario.connections,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    requests: [request],
  };
  // Warm-up: MSAL's token, the JWKS, V8's JIT, and every target's device resolution (the device
  // cache), as in a running service; the timed run then stays inside DEVICE_CACHE_TTL_MS (30 s).
  await load({ ...options, duration: WARMUP_SECONDS });
  if (scenario.name === 'disclosure') {
    await load({ ...options, connections: 16, amount: targets.length });
  }
  tenant.clearLogs();
  const result = await load({ ...options, duration: SECONDS });
  const graphRequests = tenant.graphRequests.length;
  const ok = result['2xx'];
  const peakRssMb = keydesk.peakRssMb();
  await keydesk.stop();
  const auditLines = readFileSync(keydesk.auditFile, 'utf8').split('\n').filter(Boolean).length;
  // Warm disclosure: the key read alone (key metadata is cached with the device). Prefix search
  // (never cached): one page of devices. Either way one Graph round trip is the floor.
  const floorMs = scenario.latencyMs;
  return {
    scenario: `${scenario.name} @ ${scenario.latencyMs} ms Graph latency`,
    connections: scenario.connections,
    requestsPerSecond: Math.round(ok / SECONDS),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    graphRequestsPerRequest: ok ? Math.round((graphRequests / ok) * 100) / 100 : null,
    floorMs,
    overheadP50Ms: Math.round((result.latency.p50 - floorMs) * 10) / 10,
    peakRssMb: Math.round(peakRssMb),
    auditRecords: auditLines,
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
  };
}

function markdown(results, host) {
  const rows = results.map(
    (r) =>
      `| ${r.scenario} | ${r.connections} | ${r.requestsPerSecond} | ${r.p50Ms} | ${r.p99Ms} | ${r.graphRequestsPerRequest} | ${r.floorMs} | ${r.overheadP50Ms} | ${r.peakRssMb} | ${r.non2xx + r.errors} |`,
  );
  return [
    `Measured ${host.date} on ${host.cpu}, ${host.memory}, Linux ${host.kernel}, Node ${host.node}; ${host.seconds} s per scenario after a ${WARMUP_SECONDS} s warm-up.`,
    '',
    '| scenario | connections | req/s | p50 ms | p99 ms | Graph req per request | floor ms | p50 over floor ms | peak RSS MB | failed |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

mkdirSync(DATA, { recursive: true });
const tenant = await startSimulatedTenant({ dataDir: join(DATA, 'simulator') });
const results = [];
try {
  for (const scenario of SCENARIOS) {
    const result = await runScenario(tenant, scenario);
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
if (process.env.BENCH_ONLY || process.env.BENCH_SECONDS || process.env.BENCH_KEYDESK_ARGS || process.env.BENCH_LATENCY_CONNECTIONS) {
  console.log(`\npartial or modified run: results in ${join(DATA, 'latest.json')}, bench/RESULTS.md left alone`);
  process.exit(0);
}
const resultsFile = join(ROOT, 'bench', 'RESULTS.md');
const START = '<!-- results:start -->';
const END = '<!-- results:end -->';
const current = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : `# Benchmark results\n\n${START}\n${END}\n`;
const table = `${START}\n${markdown(results, host)}\n${END}`;
writeFileSync(resultsFile, current.replace(new RegExp(`${START}[\\s\\S]*${END}`), table));
console.log(`\nwritten to ${resultsFile}`);
