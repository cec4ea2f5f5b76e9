import Type, { type Static } from 'typebox';

/**
 * A signed checkpoint of the audit chain: the head (`seq`, `hash`) at `time`, signed with
 * KeyDesk's Ed25519 audit signing key. A hash chain shows an edited record but not a cut-off
 * tail; a checkpoint kept elsewhere shows that too: the trail must still reach `seq` with `hash`.
 */
export const CheckpointSchema = Type.Object(
  {
    origin: Type.String({ pattern: '^keydesk:[^:\\s]+:[^:\\s]+$', description: '`keydesk:<tenant ID>:<client ID>`: which KeyDesk signed it', examples: ['keydesk:72f988bf-86f1-41af-91ab-2d7cd011db47:3f0c2a4e-8b1d-4c6a-9e2f-5a7b8c9d0e1f'] }),
    seq: Type.Integer({ minimum: 1, description: 'The seq of the last record the checkpoint covers', examples: [1042] }),
    hash: Type.String({ pattern: '^[0-9a-f]{64}$', description: "That record's hash", examples: ['9c1f2e3d4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0'] }),
    time: Type.String({ format: 'date-time', description: 'When it was signed (UTC)', examples: ['2026-12-01T09:30:00.000Z'] }),
    keyId: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Hex SHA-256 of the signing public key in SPKI DER', examples: ['4f6c1a8e0b2d3c5e7f9a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e'] }),
    signature: Type.String({ pattern: '^[A-Za-z0-9_-]{86}$', description: 'Base64url Ed25519 signature over the RFC 8785 canonical JSON of the other members', examples: ['m2xk3Qf8JtR0bq9vY1u5c7e9g1i3k5m7o9q1s3u5w7y9A1C3E5G7I9K1M3O5Q7S9U1W3Y5a7c9e1g3i5k7m9o1'] }),
  },
  { additionalProperties: false },
);
export type Checkpoint = Static<typeof CheckpointSchema>;
export type UnsignedCheckpoint = Omit<Checkpoint, 'signature'>;

export const SigningKeyResponse = Type.Object(
  {
    algorithm: Type.Literal('Ed25519'),
    keyId: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'Hex SHA-256 of the public key in SPKI DER; every checkpoint names it' }),
    publicKeyPem: Type.String({ description: 'The public key (SPKI, PEM) that verifies the checkpoints: `npm run audit:verify -- … --public-key <file>`' }),
  },
  { $id: 'SigningKey', additionalProperties: false, description: 'The public half of the key audit checkpoints are signed with' },
);
