import type { AuditRecord } from '../audit/types.js';
import type { GraphGateway } from '../graph/types.js';

/**
 * Who besides the security mailbox hears of a disclosure (NOTIFY_OWNERS=on): the device's
 * registered owners (their `mail`, inline with the device), its Intune primary user and the
 * requester (each looked up by UPN). Looked up when the notice is sent, never stored in the audit
 * record, and never with a recovery-key read: these calls touch devices and users only.
 */

export async function ownerAddresses(record: AuditRecord, graph: GraphGateway): Promise<string[]> {
  const deviceId = record.device?.deviceId ?? null;
  const [device, intune] = deviceId === null ? [null, null] : await Promise.all([graph.getDevice(deviceId), graph.getIntuneRecord(deviceId)]);
  const upns = [intune?.primaryUserUpn, record.requesterUpn].filter((upn): upn is string => typeof upn === 'string' && upn !== '');
  const users = await Promise.all([...new Set(upns.map((upn) => upn.toLowerCase()))].map((upn) => graph.findUserByUpn(upn)));
  const addresses = [...(device?.registeredOwners ?? []).map((owner) => owner.mail), ...users.map((user) => user?.mail)];
  const unique = new Map<string, string>();
  for (const address of addresses) if (typeof address === 'string' && address !== '') unique.set(address.toLowerCase(), address);
  return [...unique.values()];
}
