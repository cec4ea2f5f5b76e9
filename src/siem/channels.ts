import type { SiemConfig } from '../config/siem-config.js';
import type { DeliveryChannel } from '../notify/channel.js';
import { createSplunkChannel } from './splunk-channel.js';
import { createSyslogChannel } from './syslog-channel.js';

/** The SIEM channels the configuration turns on, for the outbox: each carries every record as OCSF. */
export function siemChannels(config: { siem: SiemConfig; tenantId?: string }): DeliveryChannel[] {
  const ocsf = config.tenantId === undefined ? {} : { tenantUid: config.tenantId };
  const channels: DeliveryChannel[] = [];
  if (config.siem.syslog !== null) channels.push(createSyslogChannel({ target: config.siem.syslog, ocsf }));
  if (config.siem.splunk !== null) channels.push(createSplunkChannel({ target: config.siem.splunk, ocsf }));
  return channels;
}
