import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type AppDeps } from '../../src/app.js';
import { createLogger } from '../../src/logging/logger.js';
import { withoutPasswordShapes } from '../../src/disclosure/password-shaped.js';
import { openFileAuditTrail } from '../../src/audit/file/file-audit-trail.js';
import type { AuditRecord, AuditTrail } from '../../src/audit/types.js';
import type { KeyDeskConfig } from '../../src/config/config.js';
import { ARTIFACTS_DIR } from './secret-scan.js';
import { testConfig } from './config.js';

/**
 * Builds KeyDesk as production does (real logger with its redaction, real file audit trail, real
 * Graph gateway and token verifier unless a test swaps one), with every artefact a leak could
 * hide in written under test-artifacts/ for the end-of-run secret scan.
 */

export interface Harness {
  app: FastifyInstance;
  config: KeyDeskConfig;
  audit: AuditTrail;
  auditFile: string;
  logFile: string;
  /** app.inject, recording every response body except a disclosure's (API 201 or the web key page). */
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
  auditRecords(): AuditRecord[];
  logLines(): Record<string, unknown>[];
  close(): Promise<void>;
}

export async function buildHarness(
  name: string,
  options: { env?: Record<string, string>; deps?: Partial<AppDeps>; audit?: AuditTrail } = {},
): Promise<Harness> {
  const runId = `${name}-${randomUUID().slice(0, 8)}`;
  for (const kind of ['logs', 'audit', 'responses']) mkdirSync(join(ARTIFACTS_DIR, kind), { recursive: true });
  const logFile = join(ARTIFACTS_DIR, 'logs', `${runId}.log`);
  const auditFile = join(ARTIFACTS_DIR, 'audit', `${runId}.jsonl`);
  const responsesFile = join(ARTIFACTS_DIR, 'responses', `${runId}.jsonl`);

  const config = testConfig({ AUDIT_FILE: auditFile, LOG_LEVEL: 'debug', ...options.env });
  const logger = createLogger(config.logLevel, pino.destination({ dest: logFile, sync: true }));
  const audit = options.audit ?? (await openFileAuditTrail({ file: auditFile, hmacKey: config.audit.hmacKey, logger }));
  const app = await buildApp(config, { logger, audit, ...options.deps });

  return {
    app,
    config,
    audit,
    auditFile,
    logFile,
    async inject(injectOptions) {
      const response = await app.inject(injectOptions);
      const url = String(injectOptions.url ?? '');
      // The two allowed places: the API's 201 disclosure, and the web UI's key page (a 200 answer to a reveal POST).
      const isDisclosure =
        (response.statusCode === 201 && url.startsWith('/api/v1/disclosures')) ||
        (response.statusCode === 200 && injectOptions.method === 'POST' && /^\/devices\/[^/?]+\/reveal$/.test(url));
      appendFileSync(
        responsesFile,
        // The path only, password shapes removed: the URL is the test's own input (some tests paste a
        // password-shaped value on purpose, to see it refused); what KeyDesk answers is the body.
        JSON.stringify({ url: withoutPasswordShapes(url.split('?')[0]!), status: response.statusCode, body: isDisclosure ? '[disclosure: not recorded]' : response.body }) + '\n',
      );
      return response;
    },
    auditRecords() {
      try {
        return readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as AuditRecord);
      } catch {
        return [];
      }
    },
    logLines() {
      return readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    async close() {
      await app.close();
      await audit.close();
    },
  };
}
