import type { EnvReader } from './config.js';

/**
 * ROTATE_AFTER_DISCLOSURE, ROTATION_*: whether KeyDesk asks Intune to rotate a recovery password
 * once it has been read aloud, and how it follows the rotation up. A disclosed password is no
 * longer secret; Intune's answer (204) only means "accepted", so KeyDesk keeps checking the
 * device's key list until a new key is escrowed, and calls the rotation overdue after a deadline.
 */

export const ROTATION_MODES = ['off', 'request', 'auto'] as const;
export type RotationMode = (typeof ROTATION_MODES)[number];

export interface RotationConfig {
  /** off: never; request: on `POST /api/v1/disclosures/{id}/rotation`; auto: after every granted disclosure. */
  mode: RotationMode;
  /** Seconds between the leader's checks of pending rotations. */
  checkSeconds: number;
  /** Milliseconds after the request when a rotation still without a new key is overdue. */
  deadlineMs: number;
}

const MIN_DEADLINE_HOURS = 0.001;
const MAX_DEADLINE_HOURS = 8_760;

function readDeadlineHours(reader: EnvReader): number {
  const raw = reader.text('ROTATION_DEADLINE_HOURS');
  if (raw === undefined) return 72;
  const value = Number(raw);
  if (!/^(?:\d+(?:\.\d*)?|\.\d+)$/.test(raw.trim()) || !Number.isFinite(value) || value < MIN_DEADLINE_HOURS || value > MAX_DEADLINE_HOURS) {
    reader.problem(
      `ROTATION_DEADLINE_HOURS=${JSON.stringify(raw)} is not valid: set how many hours a rotation may take before it is overdue (a number from ${MIN_DEADLINE_HOURS} to ${MAX_DEADLINE_HOURS}, decimals allowed, e.g. 0.5)`,
    );
    return 72;
  }
  return value;
}

export function readRotationConfig(reader: EnvReader): RotationConfig {
  return {
    mode: reader.oneOf(
      'ROTATE_AFTER_DISCLOSURE',
      ROTATION_MODES,
      'request',
      'off never rotates; request rotates when an agent or integration asks (POST /api/v1/disclosures/{disclosureId}/rotation); auto rotates after every granted disclosure',
    ),
    checkSeconds: reader.integer('ROTATION_CHECK_SECONDS', 300, 5, 86_400, "set how often, in seconds, the leader checks pending rotations for the device's new key"),
    deadlineMs: Math.round(readDeadlineHours(reader) * 3_600_000),
  };
}
