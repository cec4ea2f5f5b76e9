import { hostname } from 'node:os';
import type { AuditRecord } from '../audit/types.js';
import type { SplunkHecTarget } from '../config/siem-config.js';
import type { DeliveryChannel } from '../notify/channel.js';
import { toOcsf, type OcsfOptions } from './ocsf.js';

/**
 * Splunk's HTTP Event Collector: one POST per record to `…/services/collector/event`. Delivered
 * means HEC answered 2xx with `{"code":0}` (it took the event; indexing follows). The token goes
 * in the Authorization header only, never in a message.
 */

export const SPLUNK_SOURCE = 'keydesk';
export const SPLUNK_SOURCETYPE = 'keydesk:ocsf';

export interface SplunkChannelOptions {
  target: SplunkHecTarget;
  ocsf?: OcsfOptions;
  /** `host` of every event; this host's name by default. */
  hostname?: string;
}

/** The HEC event envelope; `time` in epoch seconds (milliseconds as the fraction), as HEC takes it. */
export function splunkHecEvent(record: AuditRecord, host: string, ocsf?: OcsfOptions): Record<string, unknown> {
  const event = toOcsf(record, ocsf);
  return { time: event.time / 1000, host, source: SPLUNK_SOURCE, sourcetype: SPLUNK_SOURCETYPE, event };
}

export function createSplunkChannel(options: SplunkChannelOptions): DeliveryChannel {
  const host = options.hostname ?? hostname();
  return {
    name: 'splunk',
    wants: () => true,
    deliver: (record: AuditRecord, signal: AbortSignal) => postToHec(options.target, JSON.stringify(splunkHecEvent(record, host, options.ocsf)), signal),
    close: async () => undefined,
  };
}

async function postToHec(target: SplunkHecTarget, body: string, signal: AbortSignal): Promise<void> {
  const where = new URL(target.url).origin;
  let response: Response;
  try {
    response = await fetch(target.url, {
      method: 'POST',
      headers: { authorization: `Splunk ${target.token}`, 'content-type': 'application/json' },
      body,
      signal,
      redirect: 'error',
    });
  } catch (error) {
    throw new Error(`Splunk HEC at ${where} could not be reached: ${(error as Error).message}`, { cause: error });
  }
  const text = await response.text().catch(() => '');
  const answer = parseAnswer(text);
  if (response.ok && answer?.code === 0) return;
  const said = answer === null ? 'no HEC answer' : `code ${String(answer.code)}${typeof answer.text === 'string' ? ` "${answer.text.slice(0, 200)}"` : ''}`;
  throw new Error(`Splunk HEC at ${where} did not take the event: HTTP ${response.status}, ${said}${typeof answer?.code === 'number' ? (HEC_HINTS[answer.code] ?? '') : ''}`);
}

/** What to do about HEC's own error codes (Splunk's "Troubleshoot HTTP Event Collector"). */
const HEC_HINTS: Record<number, string> = {
  1: ' (the token is disabled in Splunk)',
  2: ' (check SIEM_SPLUNK_HEC_TOKEN)',
  3: ' (check SIEM_SPLUNK_HEC_TOKEN)',
  4: ' (the token is not valid: check SIEM_SPLUNK_HEC_TOKEN)',
  7: ' (the token\'s default index does not exist)',
  10: ' (indexer acknowledgement is on for this token: KeyDesk does not poll acknowledgements, turn it off for KeyDesk\'s token)',
};

function parseAnswer(text: string): { code?: unknown; text?: unknown } | null {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as { code?: unknown; text?: unknown }) : null;
  } catch {
    return null;
  }
}
