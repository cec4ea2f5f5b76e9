import { ConfigError, isProductionEnvironment, loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logging/logger.js';
import { startServer } from '../../src/server/start.js';

/**
 * KeyDesk as the demo runs it: the production server, configured through the same environment
 * variables a deployment uses (set by `npm run demo` to point at the simulated tenant), with every
 * response marked as a demo. Started as its own process because Node only reads
 * NODE_EXTRA_CA_CERTS (the simulator's CA) at start-up.
 */
if (isProductionEnvironment()) {
  console.error('The KeyDesk demo refuses to run with NODE_ENV=production: it serves a simulated tenant. Use `npm start` for a deployment.');
  process.exit(1);
}

// Started by `npm run demo` with an IPC channel: if the demo dies, stop as on SIGTERM.
process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));

try {
  const config = loadConfig();
  await startServer(config, { logger: createLogger(config.logLevel), demo: true });
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
