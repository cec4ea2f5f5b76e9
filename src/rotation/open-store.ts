import type { Logger } from 'pino';
import type { KeyDeskConfig } from '../config/config.js';
import { openBesideTheTrail } from '../audit/beside-the-trail.js';
import { openFileRotationStore } from './file-store.js';
import { openPostgresRotationStore } from './postgres-store.js';
import type { RotationStore } from './types.js';

/** The rotations beside the audit store AUDIT_STORE names. */
export function openRotationStore(config: KeyDeskConfig, logger: Pick<Logger, 'warn'>): Promise<RotationStore> {
  return openBesideTheTrail(config, { postgres: (database) => openPostgresRotationStore(database, logger), file: openFileRotationStore });
}
