import { ConfigError, loadConfig, type KeyDeskConfig } from '../config/config.js';
import { createLogger } from '../logging/logger.js';
import { startServer } from './start.js';

/**
 * `npm start`: a real deployment. Reads the configuration from the environment and refuses to
 * start without it; it never falls back to the simulated tenant.
 */
let config: KeyDeskConfig;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}

const logger = createLogger(config.logLevel);
startServer(config, { logger }).catch((error: unknown) => {
  // A ConfigError here is found at start-up (an audit schema behind or ahead of this KeyDesk): a
  // restart cannot fix it, so it exits as a configuration problem does.
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78); // EX_CONFIG
  }
  logger.fatal({ err: error }, 'KeyDesk failed to start');
  process.exit(1);
});
