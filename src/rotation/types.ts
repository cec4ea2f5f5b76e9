import type { AuditCaller } from '../audit/types.js';
import type { VolumeType } from '../graph/types.js';

/**
 * One rotation of a disclosed recovery password: asked of Intune once, then followed until a new
 * key is escrowed for the device (done), Intune or the device says it cannot (not_supported,
 * failed), or the deadline passes (overdue). One per disclosure, whichever instance asked.
 */

export const ROTATION_STATES = ['requested', 'pending', 'done', 'failed', 'not_supported', 'overdue'] as const;
export type RotationState = (typeof ROTATION_STATES)[number];

/** States a rotation leaves no more (overdue still turns done when the key comes late). */
export const FINAL_STATES: ReadonlySet<RotationState> = new Set(['done', 'failed', 'not_supported']);

export interface RotationError {
  /** A problem code (`graph_permission_missing`, `graph_error`, …) or the device's own (`rotation_failed_on_device`). */
  code: string;
  detail: string;
}

export interface Rotation {
  id: string;
  disclosureId: string;
  /** The Entra device ID. */
  deviceId: string;
  deviceName: string | null;
  /** Intune's managed device id; null when Intune does not manage the device. */
  managedDeviceId: string | null;
  /** The key ID of the disclosed recovery password. */
  oldRecoveryKeyId: string;
  /** The key escrowed since, once seen. */
  newRecoveryKeyId: string | null;
  state: RotationState;
  requestedAt: string;
  updatedAt: string;
  /** When a rotation without a new key becomes overdue. */
  deadline: string;
  error: RotationError | null;
  /** When the disclosed password was given out (its granted record's time). */
  disclosedAt: string;
  /** The disclosed key's volume type and creation time, when Graph still listed it: a new key must match and be later. */
  oldVolumeType: VolumeType | null;
  oldCreatedDateTime: string | null;
  /** Key IDs the device had before the disclosure: none of them counts as the new key. */
  knownKeyIds: string[];
  /** Who asked (the audit record's caller), or the disclosing caller with ROTATE_AFTER_DISCLOSURE=auto. */
  requestedBy: AuditCaller | null;
}

export interface RotationFilter {
  state?: RotationState;
  /** 1 to 500; default 50. */
  limit?: number;
  cursor?: string | null;
}

export interface RotationPage {
  /** Newest request first. */
  rotations: Rotation[];
  nextCursor: string | null;
}

export interface RotationStore {
  /** Stores a new rotation unless its disclosure has one already (on any instance): then that one, `created: false`. */
  create(rotation: Rotation): Promise<{ rotation: Rotation; created: boolean }>;
  /**
   * Replaces the rotation with `next` only while it is still as `seen` (same state and updatedAt):
   * of two instances moving one rotation, one wins. False when another got there first.
   */
  update(next: Rotation, seen: Pick<Rotation, 'state' | 'updatedAt'>): Promise<boolean>;
  get(id: string): Promise<Rotation | null>;
  forDisclosure(disclosureId: string): Promise<Rotation | null>;
  list(filter: RotationFilter): Promise<RotationPage>;
  /** Rotations in `states`, oldest request first, at most `limit`. */
  inStates(states: readonly RotationState[], limit: number): Promise<Rotation[]>;
  close(): Promise<void>;
}

export const DEFAULT_ROTATION_PAGE = 50;
export const MAX_ROTATION_PAGE = 500;
