import type { AuditEntry } from './types.js';

/**
 * An audit entry with every field the caller does not know set to null: records keep one shape,
 * so a reader (or a query over the trail) never has to guess whether a field is missing or empty.
 */
export function auditEntry(fields: Pick<AuditEntry, 'action' | 'outcome' | 'code'> & Partial<AuditEntry>): AuditEntry {
  return {
    door: null,
    disclosureId: null,
    requestId: null,
    callerRequestId: null,
    caller: null,
    agentUpn: null,
    requesterUpn: null,
    ticket: null,
    reason: null,
    comment: null,
    device: null,
    recoveryKeyId: null,
    keyIdInput: null,
    checks: null,
    graphClientRequestId: null,
    graphRequestId: null,
    details: null,
    ...fields,
  };
}
