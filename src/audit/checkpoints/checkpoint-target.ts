import { request, type Agent } from 'node:https';
import type { Logger } from 'pino';
import { appendCheckpoint } from './checkpoint-file.js';
import type { Checkpoint } from './checkpoint.js';

/**
 * Where a copy of every checkpoint goes (`AUDIT_CHECKPOINT_URL`), out of reach of whoever can
 * rewrite the trail: an https endpoint (a JSON POST, retried) or a file on another mount (appended
 * and fsynced), as CloudTrail writes its digest files to a bucket of their own.
 */
export interface CheckpointTarget {
  /** Resolves once the copy is delivered; rejects when every attempt failed. */
  deliver(checkpoint: Checkpoint): Promise<void>;
  /** For logs: the file's path, or the URL's host only (a URL may carry a token in its query). */
  readonly description: string;
}

export interface UrlTargetOptions {
  url: string;
  logger: Pick<Logger, 'warn'>;
  /** Attempts per checkpoint; default 5, 1 s apart and doubling. */
  attempts?: number;
  firstDelayMs?: number;
  timeoutMs?: number;
  /** An agent with a test CA; production trusts the system store and NODE_EXTRA_CA_CERTS. */
  agent?: Agent;
}

export function fileTarget(path: string): CheckpointTarget {
  return { description: path, deliver: (checkpoint) => appendCheckpoint(path, checkpoint) };
}

/**
 * POSTs each checkpoint as JSON; any 2xx is delivered. A checkpoint that fails every attempt is
 * given up (the caller logs it): the next one covers every record this one did.
 */
export function urlTarget(options: UrlTargetOptions): CheckpointTarget {
  const attempts = options.attempts ?? 5;
  const firstDelayMs = options.firstDelayMs ?? 1_000;
  const host = new URL(options.url).host;
  return {
    description: `https://${host}/…`,
    async deliver(checkpoint) {
      for (let attempt = 1; ; attempt += 1) {
        try {
          await post(options, JSON.stringify(checkpoint));
          return;
        } catch (error) {
          if (attempt >= attempts) throw error;
          options.logger.warn({ err: error, attempt, seq: checkpoint.seq }, `checkpoint not delivered to ${host}; retrying`);
          await new Promise((resolve) => setTimeout(resolve, firstDelayMs * 2 ** (attempt - 1)).unref());
        }
      }
    },
  };
}

function post(options: UrlTargetOptions, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      options.url,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: options.timeoutMs ?? 5_000, ...(options.agent ? { agent: options.agent } : {}) },
      (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve();
        else reject(new Error(`the checkpoint endpoint answered ${status}`));
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('the checkpoint endpoint did not answer in time')));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
