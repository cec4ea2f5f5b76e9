import Type from 'typebox';
import { KEY_ID_PATTERN } from '../disclosure/input.js';
import { Nullable } from './common.js';
import { VolumeTypeSchema } from './device.js';
import { EXAMPLE } from './examples.js';

/** The key-ID index's API: look-ups by key ID and the sync's state. Metadata only: never a recovery password. */

export const KeyIdPrefixQuery = Type.Object(
  {
    keyIdPrefix: Type.String({
      // The pattern alone says "at least 8 hex digits": a minLength would say it twice, less well.
      maxLength: 40,
      pattern: KEY_ID_PATTERN,
      description: 'The key ID read off the recovery screen: at least its first 8 hex digits, or the whole ID (hyphens and case ignored)',
      examples: ['1A2B3C4D'],
    }),
  },
  { additionalProperties: false },
);

const IndexedRecoveryKeySchema = Type.Object(
  {
    id: Type.String({ description: 'The full recovery key ID', examples: [EXAMPLE.recoveryKeyId] }),
    deviceId: Type.String({ description: 'The Entra device ID the key was escrowed for', examples: [EXAMPLE.deviceId] }),
    volumeType: VolumeTypeSchema,
    createdDateTime: Type.String({ description: 'When the key was escrowed', examples: [EXAMPLE.escrowedAt] }),
    removedAt: Nullable(Type.String({ format: 'date-time' }), {
      description: 'When KeyDesk saw that Entra no longer holds the key (a rotation, a deleted device); null while Entra holds it',
      examples: [null],
    }),
    device: Nullable(Type.Ref('Device'), { description: 'The device as Entra has it now; null when it is no longer in the directory' }),
  },
  { additionalProperties: false },
);

export const KeyIdLookupResponse = Type.Object(
  { recoveryKeys: Type.Array(IndexedRecoveryKeySchema, { description: 'Newest first; empty when the index holds no such key ID' }) },
  { additionalProperties: false, description: "The keys whose ID starts with the digits given, from KeyDesk's key index" },
);

const Instant = (description: string) => Nullable(Type.String({ format: 'date-time' }), { description, examples: ['2026-12-02T03:00:00.000Z'] });

export const KeyIndexSyncResponse = Type.Object(
  {
    state: Type.Enum(['never', 'running', 'succeeded', 'failed'], { description: 'The current or last sync', examples: ['succeeded'] }),
    startedAt: Instant('When the current or last sync began'),
    completedAt: Instant('When the last sync ended; null while one runs'),
    lastSuccessAt: Instant('When the last sync that read every page ended: the index is as of then, plus the devices read since'),
    pages: Type.Integer({ minimum: 0, description: "Pages of Graph's key list read by the current or last sync", examples: [1000] }),
    keys: Type.Integer({ minimum: 0, description: 'Keys seen by the current or last sync', examples: [100000] }),
    error: Nullable(Type.String(), { description: 'Why the last sync failed (a problem code and what it said); null otherwise', examples: [null] }),
  },
  { additionalProperties: false, description: "The key index's sync from Graph's tenant-wide recovery key list" },
);

export const KeyIndexSyncStartResponse = Type.Object(
  {
    status: Type.Enum(['started', 'already_running'], { description: 'Whether this request started a sync, or one was already under way (on any instance)', examples: ['started'] }),
    ...KeyIndexSyncResponse.properties,
  },
  { additionalProperties: false, description: 'Whether a sync was started, and the sync as `GET /api/v1/recovery-keys/sync` answers it just after' },
);
