/**
 * The one made-up helpdesk case every example in /openapi.json tells: Ann Lee is locked out of
 * LAPTOP-ANN and Sam, the agent, works ticket INC0012345. Values are consistent across schemas (the
 * key ID Ann reads is the start of the key's ID) so an example can be followed end to end.
 * Nothing here is, or looks like, a recovery password: the test suite's secret scan would fail.
 */
export const EXAMPLE = {
  deviceName: 'LAPTOP-ANN',
  /** The directory object id of the device (`id`), not its device ID. */
  deviceObjectId: '0d5f3c1e-8a2b-4c6d-9e0f-1a2b3c4d5e6f',
  deviceId: '6d2e5c8f-3b1a-4f6e-9c2d-1a2b3c4d5e6f',
  otherDeviceId: '9b4a7e21-5c3d-4f8a-b6e0-2d1c0f9e8a7b',
  managedDeviceId: 'c3e8a1f4-2b7d-4e9a-8c5f-6d0b1a2e3f4c',
  recoveryKeyId: '1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d',
  /** What the recovery screen shows of the key ID, as the caller reads it out. */
  keyIdInput: '1A2B3C4D',
  requesterUpn: 'ann.lee@contoso.com',
  requesterName: 'Ann Lee',
  requesterObjectId: '5e7a9c1b-3d2f-4a6e-8b0c-9f1e2d3c4b5a',
  agentUpn: 'sam.agent@contoso.com',
  ticket: 'INC0012345',
  disclosureId: '4f7c2a9e-0b1d-4c3e-9a8f-1e2d3c4b5a69',
  auditRecordId: '0b9e1d2c-3a4f-4b5c-8d6e-7f8091a2b3c4',
  graphRequestId: 'a7c3e9f1-4b2d-4e8a-9c6f-0d1e2f3a4b5c',
  escrowedAt: '2026-01-11T10:00:00Z',
  lastSignInAt: '2026-11-20T08:15:00Z',
  lastSyncAt: '2026-11-20T07:55:00Z',
} as const;
