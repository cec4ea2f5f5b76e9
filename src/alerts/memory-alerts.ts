import type { Logger } from 'pino';
import type { AuditFilter, AuditRecord, AuditTrail } from '../audit/types.js';
import { claimKey, type AlertBackend } from './alert-backend.js';
import type { AlertCheck } from './alert-rules.js';

/**
 * The file store's alert counts and claims, in this process's memory (the file store has one
 * process). Bounded: per subject at most one more time than the rule's threshold is kept, and
 * anything older than the longest window is dropped every PRUNE_EVERY observations. The claims
 * of alerts raised before a restart are read back from the trail (`alert` records of the longest
 * window), and so are the counts (the disclosure records of that window, through the same rules),
 * before the first count or claim: a restart neither raises an alert again nor forgets the
 * disclosures that lead to one.
 */

const PRUNE_EVERY = 500;
/** The most alert records, and the most disclosure records, read back at start-up (pages of 500). */
const SEED_PAGES = 20;

export interface MemoryAlertOptions {
  audit: Pick<AuditTrail, 'query'>;
  now: () => number;
  longestWindowMs: number;
  /** The rules' checks of a disclosure record (alertChecks with the configuration): how past records are counted again. */
  checksOf: (record: AuditRecord) => AlertCheck[];
  logger: Pick<Logger, 'warn'>;
}

interface Claim {
  atMs: number;
  windowMs: number;
}

export class MemoryAlertBackend implements AlertBackend {
  readonly countsTheTrail = false;
  readonly #times = new Map<string, { windowMs: number; times: number[] }>();
  readonly #claims = new Map<string, Claim>();
  readonly #options: MemoryAlertOptions;
  #seeding: Promise<void> | null = null;
  /** The records counted from the trail at start-up, so one observed while seeding is not counted twice. */
  #seeded = new Set<string>();
  #operations = 0;

  constructor(options: MemoryAlertOptions) {
    this.#options = options;
  }

  async count(check: AlertCheck, record: AuditRecord): Promise<number> {
    await (this.#seeding ??= this.#seed());
    this.#maybePrune(Date.parse(record.time));
    const at = Date.parse(record.time);
    if (!this.#seeded.has(record.id)) this.#add(check, at);
    const entry = this.#times.get(claimKey(check));
    return entry === undefined ? 0 : entry.times.filter((time) => time > at - check.windowMs && time <= at).length;
  }

  #add(check: AlertCheck, at: number): void {
    const key = claimKey(check);
    const entry = this.#times.get(key) ?? { windowMs: check.windowMs, times: [] };
    entry.times.push(at);
    entry.times.sort((a, b) => a - b);
    // Only "more than limit" matters: the newest limit + 1 within the window say it.
    const newest = entry.times.at(-1)!;
    entry.times = entry.times.filter((time) => time > newest - check.windowMs).slice(-((check.counted?.limit ?? 0) + 1));
    this.#times.set(key, entry);
  }

  async claim(check: AlertCheck, atMs: number): Promise<boolean> {
    await (this.#seeding ??= this.#seed());
    const key = claimKey(check);
    const previous = this.#claims.get(key);
    if (previous !== undefined && previous.atMs > atMs - check.windowMs) return false;
    this.#claims.set(key, { atMs, windowMs: check.windowMs });
    return true;
  }

  async claimedAt(check: AlertCheck): Promise<number | null> {
    return this.#claims.get(claimKey(check))?.atMs ?? null;
  }

  async release(check: AlertCheck, atMs: number): Promise<void> {
    const key = claimKey(check);
    if (this.#claims.get(key)?.atMs === atMs) this.#claims.delete(key);
  }

  async close(): Promise<void> {
    this.#times.clear();
    this.#claims.clear();
  }

  #maybePrune(nowMs: number): void {
    this.#operations += 1;
    if (this.#operations % PRUNE_EVERY !== 0) return;
    // Long after start-up: every record seeded has been observed, if it ever was.
    this.#seeded.clear();
    for (const [key, entry] of this.#times) if (entry.times.every((time) => time <= nowMs - entry.windowMs)) this.#times.delete(key);
    for (const [key, claim] of this.#claims) if (claim.atMs <= nowMs - claim.windowMs) this.#claims.delete(key);
  }

  /** The alerts raised, and the disclosures counted, within the longest window before now. */
  async #seed(): Promise<void> {
    const { now, longestWindowMs, checksOf, logger } = this.#options;
    const from = new Date(now() - longestWindowMs).toISOString();
    try {
      await this.#readBack({ action: 'alert', outcome: 'raised', from }, (record) => this.#seedClaim(record, longestWindowMs));
      await this.#readBack({ action: 'disclosure', from }, (record) => {
        const counted = checksOf(record).filter((check) => check.counted !== null && check.counted.outcome === record.outcome);
        if (counted.length > 0) this.#seeded.add(record.id);
        for (const check of counted) this.#add(check, Date.parse(record.time));
      });
    } catch (error) {
      logger.warn({ err: error }, 'the alerts raised and disclosures counted before this start could not be read back; an alert may be raised again or missed');
    }
  }

  async #readBack(filter: AuditFilter, each: (record: AuditRecord) => void): Promise<void> {
    let cursor: string | null = null;
    for (let page = 0; page < SEED_PAGES; page += 1) {
      const answer = await this.#options.audit.query(filter, { limit: 500, cursor });
      for (const record of answer.records) each(record);
      cursor = answer.nextCursor;
      if (cursor === null) return;
    }
  }

  #seedClaim(record: AuditRecord, windowMs: number): void {
    const rule = record.details?.rule;
    const subject = record.details?.subject;
    if (typeof rule !== 'string' || typeof subject !== 'string') return;
    const key = `${rule}|${subject}`;
    const atMs = Date.parse(record.time);
    // Newest first: the first seen of each key is its latest alert. Its own window is not known
    // here, so the claim holds for the longest; a claim older than the rule's window still yields
    // in `claim`, which compares against the rule's window.
    if (!this.#claims.has(key)) this.#claims.set(key, { atMs, windowMs });
  }
}
