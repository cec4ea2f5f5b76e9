import { loadConfig, type KeyDeskConfig } from '../../src/config/config.js';
import { CLIENT_ID, TENANT_ID } from './entra.js';

/** A configuration as an operator would give it, through the same loader production uses. */
export function testConfig(env: Record<string, string> = {}): KeyDeskConfig {
  return loadConfig({
    AZURE_TENANT_ID: TENANT_ID,
    AZURE_CLIENT_ID: CLIENT_ID,
    AZURE_CLIENT_SECRET: 'test-secret-value',
    AUDIT_FILE: '/dev/null/unused',
    LOG_LEVEL: 'info',
    GRAPH_RETRY_BUDGET_MS: '2000',
    ...env,
  });
}
