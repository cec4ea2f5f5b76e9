import Type from 'typebox';
import { Nullable } from './common.js';
import { VolumeTypeSchema } from './device.js';
import { EXAMPLE } from './examples.js';

/** The escrow coverage report's API: the latest report (JSON or CSV) and its daily counts. */

export const EscrowCoverageQuery = Type.Object(
  { format: Type.Optional(Type.Enum(['json', 'csv'], { description: 'csv: one row per gap, as a download', examples: ['csv'] })) },
  { additionalProperties: false },
);

const CountsSchema = Type.Object(
  {
    devices: Type.Integer({ minimum: 0, description: 'Devices in Entra ID', examples: [4210] }),
    managedWindowsEncrypted: Type.Integer({ minimum: 0, description: 'Windows devices Intune manages that report isEncrypted', examples: [3980] }),
    keys: Type.Integer({ minimum: 0, description: 'Keys Entra holds', examples: [5120] }),
    noEscrow: Type.Integer({ minimum: 0, examples: [3] }),
    staleKey: Type.Integer({ minimum: 0, examples: [12] }),
    nearLimit: Type.Integer({ minimum: 0, examples: [1] }),
    orphanedKeys: Type.Integer({ minimum: 0, examples: [2] }),
  },
  { additionalProperties: false },
);

const DeviceName = Type.String({ examples: [EXAMPLE.deviceName] });
const DeviceId = Type.String({ examples: [EXAMPLE.deviceId] });

const DeviceKeysRow = Type.Object(
  { deviceId: DeviceId, deviceName: DeviceName, keyCount: Type.Integer({ minimum: 0, examples: [1] }), newestKeyCreatedDateTime: Type.String({ examples: [EXAMPLE.escrowedAt] }) },
  { additionalProperties: false },
);

export const EscrowCoverageResponse = Type.Object(
  {
    generatedAt: Type.String({ format: 'date-time', description: 'When the report was computed: right after a full sync of the key index', examples: ['2026-12-02T03:09:12.000Z'] }),
    counts: CountsSchema,
    noEscrow: Type.Array(Type.Object({ deviceId: DeviceId, deviceName: DeviceName, managedDeviceId: Type.String({ description: "Intune's id of the device" }) }, { additionalProperties: false }), {
      description: 'Windows devices Intune manages that report BitLocker on (isEncrypted) but have no recovery key in Entra ID',
    }),
    staleKey: Type.Array(DeviceKeysRow, { description: 'Devices whose newest key is older than ESCROW_MAX_KEY_AGE_DAYS' }),
    nearLimit: Type.Array(DeviceKeysRow, { description: 'Devices with more keys than ESCROW_KEY_COUNT_WARN (Entra keeps at most 200 per device)' }),
    orphanedKeys: Type.Array(
      Type.Object(
        {
          id: Type.String({ examples: [EXAMPLE.recoveryKeyId] }),
          deviceId: DeviceId,
          volumeType: VolumeTypeSchema,
          createdDateTime: Type.String({ examples: [EXAMPLE.escrowedAt] }),
          removedAt: Nullable(Type.String({ format: 'date-time' }), { examples: ['2026-12-02T03:09:10.000Z'] }),
          note: Type.String({ examples: ['no longer held by Entra: unrecoverable unless the device is restored or the key is escrowed elsewhere'] }),
        },
        { additionalProperties: false },
      ),
      { description: "Keys whose device was deleted from Entra ID: the key index remembers their metadata (never the password, which is gone with them)" },
    ),
  },
  { additionalProperties: false, description: 'Where BitLocker recovery would fail today' },
);

export const EscrowCoverageHistoryResponse = Type.Object(
  {
    days: Type.Array(
      Type.Object({ day: Type.String({ format: 'date', examples: ['2026-12-02'] }), generatedAt: Type.String({ format: 'date-time', examples: ['2026-12-02T03:09:12.000Z'] }), counts: CountsSchema }, { additionalProperties: false }),
      { description: "Oldest first; each day's last report" },
    ),
  },
  { additionalProperties: false },
);
