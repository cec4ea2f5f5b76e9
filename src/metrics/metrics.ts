import { Counter, Gauge, Histogram, register } from 'prom-client';

/**
 * KeyDesk's Prometheus metrics, defined once for the whole process in prom-client's default
 * registry (with several workers the primary aggregates the workers' registries). A label never
 * carries a device, a user or an app: only the closed sets named beside each metric.
 */

export const metricsRegistry = register;

export const disclosuresTotal = new Counter({
  name: 'keydesk_disclosures_total',
  help: 'Disclosure attempts by outcome (granted, refused, failed) and problem code ("" when granted).',
  labelNames: ['outcome', 'code'] as const,
});

export const graphRequestsTotal = new Counter({
  name: 'keydesk_graph_requests_total',
  help: 'Microsoft Graph requests by operation and HTTP status (0 when no answer came).',
  labelNames: ['operation', 'status'] as const,
});

export const graphRequestDuration = new Histogram({
  name: 'keydesk_graph_request_duration_seconds',
  help: 'Time from sending a Microsoft Graph request to its answer, by operation.',
  labelNames: ['operation'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
});

export const graphRetriesTotal = new Counter({
  name: 'keydesk_graph_retries_total',
  help: 'Microsoft Graph requests sent again after a throttling answer, a 5xx or a timeout.',
});

export const graphThrottledTotal = new Counter({
  name: 'keydesk_graph_throttled_total',
  help: 'Microsoft Graph answers of 429 (throttled).',
});

export const auditAppendDuration = new Histogram({
  name: 'keydesk_audit_append_duration_seconds',
  help: 'Time from asking the audit store to append a record to the record being durable.',
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
});

export const auditBatchSize = new Histogram({
  name: 'keydesk_audit_batch_size',
  help: 'Records made durable together in one write (file) or one transaction (PostgreSQL).',
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
});

export const outboxDepth = new Gauge({
  name: 'keydesk_outbox_depth',
  help: 'Notifications and SIEM events waiting for delivery, by channel (webhook, email, syslog, splunk).',
  labelNames: ['channel'] as const,
  // Each worker reads the one shared outbox: across workers the depth is the largest reading, not their sum.
  aggregator: 'max',
});

export const notificationFailuresTotal = new Counter({
  name: 'keydesk_notification_failures_total',
  help: 'Failed delivery attempts, by channel (webhook, email, syslog, splunk).',
  labelNames: ['channel'] as const,
});

export const rateLimitedTotal = new Counter({
  name: 'keydesk_rate_limited_total',
  help: 'Requests refused with 429 rate_limited, by limit.',
  labelNames: ['limit'] as const,
});

/** Counts the staff sessions at scrape time; null when the count is not known now (Redis down). */
export type SessionCounter = () => Promise<number | null>;

let sessionCounter: SessionCounter | null = null;

/** The session store's count, read at each scrape; returns the function that stops it. */
export function countSessionsWith(counter: SessionCounter): () => void {
  sessionCounter = counter;
  return () => {
    if (sessionCounter === counter) sessionCounter = null;
  };
}

export const sessionsGauge = new Gauge({
  name: 'keydesk_sessions',
  help: 'Staff web sessions this KeyDesk holds (the shared count with Redis).',
  // With Redis every worker counts the same shared sessions: the most any says, not their sum.
  aggregator: 'max',
  async collect() {
    const count = sessionCounter === null ? 0 : await sessionCounter().catch(() => null);
    if (count !== null) this.set(count);
  },
});

export const keyIndexSyncsTotal = new Counter({
  name: 'keydesk_key_index_syncs_total',
  help: 'Full syncs of the key-ID index from Graph, by outcome (succeeded, failed).',
  labelNames: ['outcome'] as const,
});

export const keyIndexKeys = new Gauge({
  name: 'keydesk_key_index_keys',
  help: "Keys in Graph's tenant-wide list at the last successful sync of the key-ID index (this process's, when it ran it).",
});
