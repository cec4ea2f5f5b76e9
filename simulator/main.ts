import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isProductionEnvironment } from '../src/config/config.js';
import { startSimulatedTenant } from './index.js';

/**
 * `node dist/simulator/main.js [dataDir] [--seed N] [--entra-port P] [--graph-port P] [--api-token-version 1.0|2.0]`
 * Starts the simulated tenant on its own and prints its URLs, apps and personas as JSON, for
 * debugging KeyDesk against it by hand. Recovery passwords are never printed.
 */

if (isProductionEnvironment()) {
  console.error('The simulated tenant refuses to run with NODE_ENV=production: it is for laptops, tests and CI.');
  process.exit(1);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      seed: { type: 'string' },
      'entra-port': { type: 'string' },
      'graph-port': { type: 'string' },
      'api-token-version': { type: 'string' },
    },
  });
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\nUsage: simulator [dataDir] [--seed N] [--entra-port P] [--graph-port P] [--api-token-version 1.0|2.0]`);
  process.exit(2);
}

const number = (name: string, raw: string | undefined): number | undefined => {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) {
    console.error(`--${name} must be a whole number, not ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return Number(raw);
};
const version = parsed.values['api-token-version'];
if (version !== undefined && version !== '1.0' && version !== '2.0') {
  console.error(`--api-token-version must be 1.0 or 2.0, not ${JSON.stringify(version)}`);
  process.exit(2);
}

const dataDir = resolve(parsed.positionals[0] ?? './data/simulator');
const tenant = await startSimulatedTenant({
  dataDir,
  seed: number('seed', parsed.values.seed),
  entraPort: number('entra-port', parsed.values['entra-port']),
  graphPort: number('graph-port', parsed.values['graph-port']),
  apiTokenVersion: version,
});

const { notable } = tenant.directory;
const describe = (device: { displayName: string; deviceId: string }) => ({ displayName: device.displayName, deviceId: device.deviceId });
process.stdout.write(
  `${JSON.stringify(
    {
      simulatedTenant: true,
      dataDir,
      tenantId: tenant.tenantId,
      authorityHost: tenant.authorityHost,
      graphBaseUrl: tenant.graphBaseUrl,
      caCertPath: tenant.caCertPath,
      caBundlePath: tenant.caBundlePath,
      openIdConfiguration: `${tenant.authorityHost}/${tenant.tenantId}/v2.0/.well-known/openid-configuration`,
      keydeskEnvironment: tenant.keydeskEnvironment(),
      keydeskApp: tenant.keydeskApp,
      ticketingApps: tenant.ticketingApps,
      chatBotApp: tenant.chatBotApp,
      staff: tenant.staff,
      organisation: {
        users: tenant.directory.users.length,
        devices: tenant.directory.devices.length,
        recoveryKeys: tenant.directory.recoveryKeys.length,
        notable: Object.fromEntries(
          Object.entries(notable).map(([name, value]) => [
            name,
            'devices' in value ? { displayName: value.displayName, devices: value.devices.map(describe) } : describe(value),
          ]),
        ),
      },
    },
    null,
    2,
  )}\n`,
);

const stop = () => {
  void tenant.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
