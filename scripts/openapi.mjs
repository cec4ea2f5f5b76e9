// Writes the OpenAPI document KeyDesk serves at /openapi.json to a file, for `redocly lint` in
// .ci/run (and tests/routes/openapi.test.ts). It builds the compiled app (run `npm run build`
// first) with an example configuration and never listens or calls Entra or Graph; a deployment's
// own document differs only where its configuration shows (servers, token URL, scope).
//
//   node scripts/openapi.mjs [file]      (default: dist/openapi.json)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino } from 'pino';
import { buildApp } from '../dist/src/app.js';
import { loadConfig } from '../dist/src/config/config.js';

const EXAMPLE_ENV = {
  AZURE_TENANT_ID: 'contoso.onmicrosoft.com',
  AZURE_CLIENT_ID: '3b8e4f21-6a7d-4c9e-8f12-5d0a9b7c6e43',
  AZURE_CLIENT_SECRET: 'unused: nothing is asked of Entra',
  API_AUDIENCE: 'api://keydesk.contoso.com',
  AUDIT_FILE: '/dev/null',
};

/** Building the app needs an audit trail; the document needs nothing from it. */
const noAuditTrail = {
  append: async () => {
    throw new Error('the OpenAPI script records nothing');
  },
  query: async () => ({ records: [], nextCursor: null }),
  isWritable: async () => false,
  close: async () => {},
};

const file = process.argv[2] ?? 'dist/openapi.json';
const app = await buildApp(loadConfig(EXAMPLE_ENV), { logger: pino({ level: 'silent' }), audit: noAuditTrail });
await app.ready();
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(app.swagger(), null, 2)}\n`);
await app.close();
