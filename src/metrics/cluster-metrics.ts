import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type PrometheusContentType } from 'prom-client';

/**
 * WORKERS > 1: the primary sums the workers' registries (prom-client's AggregatorRegistry asks
 * each worker over the cluster channel). A worker's own `/metrics` (the main port, with
 * METRICS_TOKEN) asks the primary for that sum, so every scrape shows the whole host.
 */

const REQUEST = 'keydesk:metrics-request';
const ANSWER = 'keydesk:metrics-answer';
/** Past prom-client's own 5 s wait for the workers' answers. */
const PRIMARY_TIMEOUT_MS = 6_000;

interface MetricsRequest {
  type: typeof REQUEST;
  id: number;
}

interface MetricsAnswer {
  type: typeof ANSWER;
  id: number;
  text?: string;
  error?: string;
}

function isMessage<T extends { type: string }>(message: unknown, type: T['type']): message is T {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}

let aggregator: AggregatorRegistry<PrometheusContentType> | null = null;

/** In a worker: answer the primary's requests for this worker's registry (prom-client's listener); elsewhere nothing. */
export function answerPrimaryScrapes(): void {
  if (!cluster.isWorker) return;
  aggregator ??= new AggregatorRegistry<PrometheusContentType>();
}

/**
 * In the primary: the sum over every worker, and an answer to each worker that asks for it.
 * Returns the source the primary's METRICS_PORT listener serves.
 */
export function serveWorkersMetrics(): () => Promise<string> {
  if (aggregator === null) {
    const registry = new AggregatorRegistry<PrometheusContentType>();
    aggregator = registry;
    cluster.on('message', (worker: Worker, message: unknown) => {
      if (!isMessage<MetricsRequest>(message, REQUEST)) return;
      const reply = (answer: Omit<MetricsAnswer, 'type' | 'id'>) => {
        if (worker.isConnected()) worker.send({ type: ANSWER, id: message.id, ...answer });
      };
      registry.clusterMetrics().then(
        (text) => reply({ text }),
        (error: unknown) => reply({ error: (error as Error).message }),
      );
    });
  }
  const registry = aggregator;
  return () => registry.clusterMetrics();
}

let nextId = 0;
const waiting = new Map<number, { resolve(text: string): void; reject(error: Error): void }>();
let listening = false;

/** In a worker: the primary's sum over every worker. */
export function metricsFromPrimary(): Promise<string> {
  if (!listening) {
    listening = true;
    process.on('message', (message: unknown) => {
      if (!isMessage<MetricsAnswer>(message, ANSWER)) return;
      const pending = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.text !== undefined) pending?.resolve(message.text);
      else pending?.reject(new Error(`the primary could not collect the workers' metrics: ${message.error ?? 'no answer'}`));
    });
  }
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error('the primary did not answer with the workers\' metrics in time'));
    }, PRIMARY_TIMEOUT_MS);
    const settle = <T>(done: (value: T) => void) => (value: T) => {
      clearTimeout(timer);
      done(value);
    };
    waiting.set(id, { resolve: settle(resolve), reject: settle(reject) });
    process.send!({ type: REQUEST, id } satisfies MetricsRequest);
  });
}
