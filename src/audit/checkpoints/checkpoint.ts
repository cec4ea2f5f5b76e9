import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import canonicalize from 'canonicalize';
import { CheckpointSchema, type Checkpoint, type UnsignedCheckpoint } from '../../schemas/checkpoint.js';
import type { ChainHead } from '../chain.js';

export type { Checkpoint, UnsignedCheckpoint } from '../../schemas/checkpoint.js';

/**
 * Signing and checking checkpoints: pure functions over node:crypto's Ed25519. The signature
 * covers the RFC 8785 canonical JSON of every member but `signature`, so any tool with the public
 * key can check one without KeyDesk.
 */

/** Who signs: which KeyDesk (tenant, app registration) a checkpoint comes from. */
export function checkpointOrigin(tenantId: string, clientId: string): string {
  return `keydesk:${tenantId}:${clientId}`;
}

/** Hex SHA-256 of the public key's SPKI DER: the `keyId` every checkpoint names. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

export interface CheckpointSigner {
  readonly keyId: string;
  /** SPKI PEM of the public key, for `GET /api/v1/audit/signing-key`. */
  readonly publicKeyPem: string;
  sign(head: ChainHead, origin: string, time: Date): Checkpoint;
}

/** A signer over an Ed25519 private key in PEM (config checks that it is one). */
export function createCheckpointSigner(privateKeyPem: string): CheckpointSigner {
  const privateKey = createPrivateKey(privateKeyPem);
  const publicKey = createPublicKey(privateKey);
  const keyId = keyIdOf(publicKey);
  return {
    keyId,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign(head, origin, time) {
      const unsigned: UnsignedCheckpoint = { origin, seq: head.seq, hash: head.hash, time: time.toISOString(), keyId };
      return { ...unsigned, signature: sign(null, signedBytes(unsigned), privateKey).toString('base64url') };
    },
  };
}

function signedBytes(unsigned: UnsignedCheckpoint): Buffer {
  return Buffer.from(canonicalize(unsigned)!, 'utf8');
}

/** One line of a checkpoint file: the members in their documented order, then LF. */
export function checkpointLine(checkpoint: Checkpoint): string {
  const { origin, seq, hash, time, keyId, signature } = checkpoint;
  return `${JSON.stringify({ origin, seq, hash, time, keyId, signature })}\n`;
}

let validator: ValidateFunction<Checkpoint> | undefined;

/** Parses one checkpoint (a line of a checkpoint file); throws an Error saying what is wrong. */
export function parseCheckpoint(text: string): Checkpoint {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('it is not JSON');
  }
  validator ??= addFormats.default(new Ajv({ allErrors: true, strict: false })).compile<Checkpoint>(CheckpointSchema);
  if (!validator(value)) {
    const first = validator.errors?.[0];
    throw new Error(`it is not a checkpoint (${first?.instancePath || '/'} ${first?.message ?? 'is not valid'})`);
  }
  return value;
}

/**
 * An Ed25519 public key from PEM: SPKI, or a private key (its public half), so an operator can
 * point `--public-key` at whichever file they have. Throws for anything else.
 */
export function loadPublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
  } catch {
    throw new Error('it is not a public key in PEM');
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`it is an ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519`);
  return key;
}

/** Null when `publicKey` signed `checkpoint`; otherwise why not. */
export function checkSignature(checkpoint: Checkpoint, publicKey: KeyObject): string | null {
  const { signature, ...unsigned } = checkpoint;
  if (checkpoint.keyId !== keyIdOf(publicKey)) return `the checkpoint names signing key ${checkpoint.keyId}, not the key given (${keyIdOf(publicKey)})`;
  return verify(null, signedBytes(unsigned), publicKey, Buffer.from(signature, 'base64url')) ? null : 'the checkpoint signature is not valid: the checkpoint was altered or not signed by this key';
}
