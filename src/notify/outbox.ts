import type { Logger } from 'pino';
import { alertEntry } from '../alerts/alert-entry.js';
import type { AuditEntry, AuditRecord, AuditTrail } from '../audit/types.js';
import { notificationFailuresTotal, outboxDepth } from '../metrics/metrics.js';
import type { ChannelName, DeliveryChannel } from './channel.js';

/**
 * The outbox: every channel's pending notifications, delivered at least once with the record's id
 * as the event id, retried with exponential backoff until NOTIFY_RETRY_HOURS after the record was
 * written, then marked failed with a `notification_failed` alert record (which the other channels
 * carry). Each channel drains on its own timer, so a receiver that is down delays only itself.
 * Where the pending notifications live is the store's business (OutboxQueue): rows written with
 * the record in PostgreSQL (postgres-outbox.ts), the trail and a cursor per channel for the file
 * store (file-outbox.ts).
 */

export interface PendingNotification {
  record: AuditRecord;
  /** Failed attempts so far. */
  attempts: number;
}

export interface OutboxQueue {
  /**
   * Notifications of `channel` due at `now`, claimed for this process (no other process is handed
   * them until they are settled or their lease runs out), oldest first. The file store hands
   * them in trail order, those set aside for a retry first (src/notify/file-outbox.ts).
   */
  due(channel: ChannelName, now: number, limit: number): Promise<PendingNotification[]>;
  delivered(channel: ChannelName, item: PendingNotification): Promise<void>;
  retryAt(channel: ChannelName, item: PendingNotification, at: number, error: string): Promise<void>;
  failed(channel: ChannelName, item: PendingNotification, error: string): Promise<void>;
  /** Claimed but not attempted (the outbox is stopping): due again now. */
  release(channel: ChannelName, items: readonly PendingNotification[]): Promise<void>;
  /** Notifications of `channel` not yet delivered nor failed. */
  depth(channel: ChannelName): Promise<number>;
  close(): Promise<void>;
}

export interface OutboxOptions {
  queue: OutboxQueue;
  channels: readonly DeliveryChannel[];
  /** Where the `notification_failed` alerts are appended. */
  audit: Pick<AuditTrail, 'append'>;
  /** NOTIFY_RETRY_HOURS in milliseconds, counted from the record's time. */
  retryMs: number;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** How often each channel looks for due notifications. */
  pollMs?: number;
  /** How long one delivery may take. */
  deliveryTimeoutMs?: number;
  /** Wait before the attempt after `attempts` failed ones. */
  backoffMs?: (attempts: number) => number;
  clock?: () => number;
}

export interface Outbox {
  /** Starts each channel's timer. */
  start(): void;
  /** Lets deliveries under way finish, hands back what was claimed and closes the queue (the channels are their owner's to close). */
  stop(): Promise<void>;
}

const BATCH = 10;
/** Batches per channel per tick: a backlog drains without one tick running forever. */
const MAX_BATCHES = 20;
/** 15 s, 30 s, 1 min, … up to one hour between attempts. */
export function exponentialBackoff(attempts: number): number {
  return Math.min(15_000 * 2 ** Math.max(0, attempts - 1), 3_600_000);
}

type Outcome = 'delivered' | 'retry' | 'failed' | 'unsettled';

/** A failure's message without what could carry a secret (a URL's token): the message and the cause's code. */
function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof code === 'string' ? `${message} (${code})` : message;
}

function withinSignal(work: Promise<void>, signal: AbortSignal): Promise<void> {
  return Promise.race([
    work,
    new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('the delivery took too long')), { once: true })),
  ]);
}

export function startOutbox(options: OutboxOptions): Outbox {
  return new OutboxRunner(options);
}

class OutboxRunner implements Outbox {
  readonly #options: OutboxOptions;
  readonly #queue: OutboxQueue;
  readonly #logger: OutboxOptions['logger'];
  readonly #clock: () => number;
  #stopping = false;
  readonly #timers = new Map<ChannelName, NodeJS.Timeout>();
  readonly #running = new Set<Promise<void>>();

  constructor(options: OutboxOptions) {
    this.#options = options;
    this.#queue = options.queue;
    this.#logger = options.logger;
    this.#clock = options.clock ?? Date.now;
  }

  start(): void {
    for (const channel of this.#options.channels) this.#schedule(channel, 0);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    await Promise.allSettled([...this.#running]);
    await this.#queue.close();
  }

  async #attempt(channel: DeliveryChannel, item: PendingNotification): Promise<Outcome> {
    const timeoutMs = this.#options.deliveryTimeoutMs ?? 15_000;
    try {
      await withinSignal(channel.deliver(item.record, AbortSignal.timeout(timeoutMs)), AbortSignal.timeout(timeoutMs + 1000));
    } catch (error) {
      notificationFailuresTotal.inc({ channel: channel.name });
      return this.#settleFailure(channel, item, describe(error));
    }
    try {
      await this.#queue.delivered(channel.name, item);
      return 'delivered';
    } catch (error) {
      // Delivered but not marked: it will be delivered again (at least once), with the same event id.
      this.#logger.error({ channel: channel.name, auditRecordId: item.record.id, reason: describe(error) }, 'a delivered notification could not be marked delivered; it will be sent again');
      return 'unsettled';
    }
  }

  async #settleFailure(channel: DeliveryChannel, item: PendingNotification, reason: string): Promise<Outcome> {
    const age = this.#clock() - Date.parse(item.record.time);
    const fields = { channel: channel.name, auditRecordId: item.record.id, attempts: item.attempts + 1, reason };
    if (age >= this.#options.retryMs) {
      await this.#queue.failed(channel.name, item, reason);
      this.#logger.error(fields, 'a notification could not be delivered in NOTIFY_RETRY_HOURS and is marked failed');
      return 'failed';
    }
    const at = this.#clock() + (this.#options.backoffMs ?? exponentialBackoff)(item.attempts + 1);
    await this.#queue.retryAt(channel.name, item, at, reason);
    this.#logger.warn({ ...fields, retryAt: new Date(at).toISOString() }, 'a notification could not be delivered; retrying later');
    return 'retry';
  }

  /**
   * Delivers what is due, batch after batch, until none is left or the receiver fails. True when
   * it stopped at MAX_BATCHES with the receiver healthy and its last batch not empty: more may be
   * due, and the next pass starts at once rather than a poll interval later (a burst of
   * disclosures otherwise drained at MAX_BATCHES batches a second at most, its notifications
   * falling minutes behind; the file store's batches hold one record from the trail each).
   */
  async #drain(channel: DeliveryChannel): Promise<boolean> {
    const failed: PendingNotification[] = [];
    let more = false;
    for (let batch = 0; batch < MAX_BATCHES && !this.#stopping; batch += 1) {
      const items = await this.#queue.due(channel.name, this.#clock(), BATCH);
      more = items.length > 0 && batch === MAX_BATCHES - 1;
      if (items.length === 0) break;
      let healthy = true;
      for (const [index, item] of items.entries()) {
        if (this.#stopping) {
          await this.#queue.release(channel.name, items.slice(index));
          break;
        }
        const outcome = await this.#attempt(channel, item);
        if (outcome === 'failed') failed.push(item);
        if (outcome === 'retry' || outcome === 'unsettled') healthy = false;
      }
      if (!healthy) {
        more = false;
        break;
      }
    }
    if (failed.length > 0) await this.#options.audit.append(failureAlert(channel.name, failed, this.#options.retryMs));
    outboxDepth.set({ channel: channel.name }, await this.#queue.depth(channel.name));
    return more && !this.#stopping;
  }

  #schedule(channel: DeliveryChannel, delay: number): void {
    if (this.#stopping) return;
    const timer = setTimeout(() => {
      let more = false;
      const work = this.#drain(channel)
        .then((backlog) => void (more = backlog))
        .catch((error: unknown) => this.#logger.warn({ channel: channel.name, reason: describe(error) }, 'the outbox could not be read; trying again shortly'));
      this.#running.add(work);
      void work.finally(() => {
        this.#running.delete(work);
        this.#schedule(channel, more ? 0 : (this.#options.pollMs ?? 1000));
      });
    }, delay);
    timer.unref();
    this.#timers.set(channel.name, timer);
  }
}

/** One alert for the notifications of one channel given up in one pass. */
function failureAlert(channel: ChannelName, failed: PendingNotification[], retryMs: number): AuditEntry {
  const first = failed[0]!.record;
  const hours = Math.round(retryMs / 3_600_000);
  const one = failed.length === 1;
  return alertEntry({
    rule: 'notification_failed',
    subject: `channel:${channel}`,
    summary: `${one ? 'A notification' : `${failed.length} notifications`} could not be delivered through the ${channel} channel within ${hours} hour${hours === 1 ? '' : 's'} and ${one ? 'was' : 'were'} given up`,
    details: { channel, count: failed.length, auditRecordIds: failed.slice(0, 100).map(({ record }) => record.id), attempts: failed.slice(0, 100).map(({ attempts }) => attempts + 1) },
    ...(one ? { related: { disclosureId: first.disclosureId, device: first.device, caller: first.caller, agentUpn: first.agentUpn, requesterUpn: first.requesterUpn, ticket: first.ticket, door: first.door } } : {}),
  });
}
