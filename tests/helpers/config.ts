import { ConfigError, loadConfig, type KeyDeskConfig } from '../../src/config/config.js';
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

/** The smallest environment KeyDesk starts with. */
export const MINIMAL_ENV = {
  AZURE_TENANT_ID: '7f9c3a52-1c4e-4b7a-9d0e-2f5b8c6a1d34',
  AZURE_CLIENT_ID: '3b8e4f21-6a7d-4c9e-8f12-5d0a9b7c6e43',
  AZURE_CLIENT_SECRET: 'secret',
};

/** What loadConfig says is wrong with `env`; empty when it loads. */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}
