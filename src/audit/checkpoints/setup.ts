import type { Logger } from 'pino';
import type { KeyDeskConfig } from '../../config/config.js';
import type { ChainHead } from '../chain.js';
import { checkpointOrigin, createCheckpointSigner } from './checkpoint.js';
import { appendCheckpoint, checkpointFileOf, readLastCheckpoint } from './checkpoint-file.js';
import { fileTarget, urlTarget } from './checkpoint-target.js';
import { createCheckpointer, type CheckpointLog, type Checkpointer } from './checkpointer.js';

/** The checkpointer the configuration asks for, over a store's head and checkpoint log. */

export interface CheckpointedStore {
  head(): Promise<ChainHead>;
  checkpoints: CheckpointLog;
}

/** The file store's checkpoints: `<AUDIT_FILE>.checkpoints.jsonl`. */
export function fileCheckpointLog(auditFile: string): CheckpointLog {
  const path = checkpointFileOf(auditFile);
  return { last: () => readLastCheckpoint(path), append: (checkpoint) => appendCheckpoint(path, checkpoint) };
}

/** Null, with a warning, when AUDIT_SIGNING_KEY_PATH is unset. */
export function configuredCheckpointer(config: KeyDeskConfig, store: CheckpointedStore, options: { isLeader(): boolean; logger: Logger }): Checkpointer | null {
  const { audit } = config;
  if (!audit.signingKey) {
    options.logger.warn(
      'AUDIT_SIGNING_KEY_PATH is not set: no signed checkpoints, so records cut off the end of the audit trail would go unnoticed. Make a key with `openssl genpkey -algorithm ed25519 -out audit-signing-key.pem` and set AUDIT_SIGNING_KEY_PATH.',
    );
    return null;
  }
  const target = audit.checkpointTarget === null ? null : audit.checkpointTarget.kind === 'file' ? fileTarget(audit.checkpointTarget.path) : urlTarget({ url: audit.checkpointTarget.url, logger: options.logger });
  return createCheckpointer({
    head: () => store.head(),
    log: store.checkpoints,
    target,
    signer: createCheckpointSigner(audit.signingKey.pem),
    origin: checkpointOrigin(config.tenantId, config.clientId),
    intervalSeconds: audit.checkpointSeconds,
    isLeader: options.isLeader,
    logger: options.logger,
  });
}
