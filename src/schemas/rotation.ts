import Type, { type Static } from 'typebox';
import { ROTATION_STATES } from '../rotation/types.js';
import { Nullable } from './common.js';
import { EXAMPLE } from './examples.js';

/** Rotation after disclosure, as the API shows it: key IDs and states, never a recovery password. */

const RotationStateSchema = Type.Enum([...ROTATION_STATES], {
  description:
    'requested: KeyDesk is asking Intune; pending: Intune accepted (204), no new key yet; done: a new key is escrowed for the device; failed: Intune refused or the device reported a failure (see `error`); not_supported: Intune does not manage the device, or it reports it cannot rotate; overdue: no new key by `deadline` (still turns done if the key comes)',
  examples: ['pending'],
});

const Instant = (description: string) => Type.String({ format: 'date-time', description, examples: ['2026-12-02T09:30:00.000Z'] });

export const RotationSchema = Type.Object(
  {
    id: Type.String({ description: 'The rotation', examples: ['9d3c1b2a-4e5f-4a6b-8c7d-0e1f2a3b4c5d'] }),
    disclosureId: Type.String({ description: 'The disclosure whose recovery password is being replaced', examples: [EXAMPLE.disclosureId] }),
    deviceId: Type.String({ description: 'The Entra device ID', examples: [EXAMPLE.deviceId] }),
    managedDeviceId: Nullable(Type.String(), { description: "Intune's managed device id; null when Intune does not manage the device", examples: [EXAMPLE.managedDeviceId] }),
    oldRecoveryKeyId: Type.String({ description: 'The key ID of the disclosed recovery password', examples: [EXAMPLE.recoveryKeyId] }),
    newRecoveryKeyId: Nullable(Type.String(), { description: 'The key escrowed since (done); null until then', examples: [null] }),
    state: RotationStateSchema,
    requestedAt: Instant('When the rotation was asked for'),
    updatedAt: Instant('When its state last changed'),
    deadline: Instant('When it becomes overdue without a new key (ROTATION_DEADLINE_HOURS after the request)'),
    error: Nullable(
      Type.Object(
        {
          code: Type.String({ description: 'graph_permission_missing, graph_error, graph_unavailable, device_not_managed, rotation_not_supported, rotation_failed_on_device…', examples: ['graph_permission_missing'] }),
          detail: Type.String({ description: 'What happened and what to do next' }),
        },
        { additionalProperties: false },
      ),
      { description: 'Why it failed or is not supported; null otherwise', examples: [null] },
    ),
  },
  { additionalProperties: false, description: 'One rotation of a disclosed recovery password' },
);
export type RotationView = Static<typeof RotationSchema>;

export const RotationParams = Type.Object(
  { disclosureId: Type.String({ format: 'uuid', description: 'The disclosureId a granted disclosure answered with', examples: [EXAMPLE.disclosureId] }) },
  { additionalProperties: false },
);

export const RotationListQuery = Type.Object(
  {
    // An empty value (`?state=&limit=&cursor=`, as a form sends it) means the member is not given.
    state: Type.Optional(Type.Union([RotationStateSchema, Type.Literal('')], { description: 'Only rotations in this state (empty: all)', examples: ['pending'] })),
    // Query strings are not coerced: a whole number from 1 to 500, as text.
    limit: Type.Optional(Type.String({ pattern: '^(?:[1-9]|[1-9][0-9]|[1-4][0-9]{2}|500)?$', description: 'Rotations per page, a whole number from 1 to 500; default 50 (also when empty)', examples: ['50'] })),
    cursor: Type.Optional(Type.String({ maxLength: 200, description: '`nextCursor` of the previous page, unchanged', examples: ['WyIyMDI2LTEyLTAyVDA5OjAwOjAwLjAwMFoiLCI5ZDNjMWIyYSJd'] })),
  },
  { additionalProperties: false },
);

export const RotationListResponse = Type.Object(
  {
    rotations: Type.Array(RotationSchema, { description: 'Newest request first' }),
    nextCursor: Nullable(Type.String(), { description: 'Pass as `cursor` for the next (older) page; null on the last', examples: [null] }),
  },
  { additionalProperties: false },
);
