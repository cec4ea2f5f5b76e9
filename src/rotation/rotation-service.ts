import type { AuditCaller, AuditRecord, AuditTrail } from '../audit/types.js';
import { ROTATION_PERMISSIONS } from '../graph/intune-rotation.js';
import { KeyDeskProblem } from '../problem/problem.js';
import { latestPerKey } from '../jobs/latest-per-key.js';
import { askIntune, checkRotation, recordChange, type RotationStepDeps } from './rotation-steps.js';
import type { RotationRequestContext } from './rotation-records.js';
import type { Rotation, RotationFilter, RotationPage } from './types.js';

/**
 * Rotation after disclosure: the one entry point the API (and the web pages) use to ask for a
 * rotation and list them, the hook that asks on its own with ROTATE_AFTER_DISCLOSURE=auto, and
 * the leader's check of the rotations still open.
 */

export interface RotationRequester extends RotationRequestContext {
  caller: AuditCaller | null;
}

export interface RotationService {
  readonly mode: RotationStepDeps['config']['mode'];
  /** Asks Intune to rotate the key the disclosure gave out; the rotation there is already, with `created: false`. */
  request(disclosureId: string, requester: RotationRequester): Promise<{ rotation: Rotation; created: boolean }>;
  list(filter: RotationFilter): Promise<RotationPage>;
  /** The rotation of this disclosure, or null. */
  forDisclosure(disclosureId: string): Promise<Rotation | null>;
  /** Told of each disclosure outcome record; with `auto` (or a self-service one unless `off`), a granted one is rotated after the answer. Returns at once. */
  afterDisclosure(record: AuditRecord): void;
  /** The leader's look at every open rotation. */
  checkOpen(): Promise<void>;
  /** Start-up: warns when KeyDesk's Graph token carries neither rotation permission. */
  checkPermission(): Promise<void>;
  /** Resolves once every rotation started in the background has finished its first step (tests, shutdown). */
  idle(): Promise<void>;
}

export interface RotationServiceDeps extends RotationStepDeps {
  audit: Pick<AuditTrail, 'append' | 'query'>;
  newId: () => string;
}

/** How many open rotations one look checks: each costs a Graph call or two. */
const CHECK_BATCH = 100;
/** A rotation still `requested` this long (its instance stopped before Intune was asked) is asked again. */
const STUCK_REQUEST_MS = 2 * 60_000;
/** An overdue rotation is looked at for this long past its deadline, in case the key comes late. */
const LATE_KEY_WINDOW_MS = 30 * 86_400_000;

/** The granted outcome record of the disclosure, or the problem for one that was not granted or is unknown. */
async function grantedRecord(audit: RotationServiceDeps['audit'], disclosureId: string): Promise<AuditRecord> {
  const { records } = await audit.query({ disclosureId }, { limit: 20 });
  const granted = records.find((record) => record.action === 'disclosure' && record.outcome === 'granted');
  if (granted && granted.device?.deviceId && granted.recoveryKeyId) return granted;
  if (records.length === 0) throw new KeyDeskProblem('not_found', `No disclosure ${disclosureId} is in the audit trail: use the disclosureId a disclosure answered with.`);
  throw new KeyDeskProblem('disclosure_not_granted', `The disclosure ${disclosureId} did not give out a recovery password, so there is nothing to rotate.`);
}

function newRotation(record: AuditRecord, requester: RotationRequester, deps: RotationServiceDeps): Rotation {
  const now = deps.now();
  const at = new Date(now).toISOString();
  return {
    id: deps.newId(),
    disclosureId: record.disclosureId!,
    deviceId: record.device!.deviceId!,
    deviceName: record.device!.displayName,
    managedDeviceId: null,
    oldRecoveryKeyId: record.recoveryKeyId!,
    newRecoveryKeyId: null,
    state: 'requested',
    requestedAt: at,
    updatedAt: at,
    deadline: new Date(now + deps.config.deadlineMs).toISOString(),
    error: null,
    disclosedAt: record.time,
    oldVolumeType: null,
    oldCreatedDateTime: null,
    knownKeyIds: [],
    requestedBy: requester.caller,
  };
}

async function start(record: AuditRecord, requester: RotationRequester, deps: RotationServiceDeps): Promise<{ rotation: Rotation; created: boolean }> {
  const stored = await deps.store.create(newRotation(record, requester, deps));
  if (!stored.created) return stored;
  await recordChange(stored.rotation, deps, requester);
  const asked = await askIntune(stored.rotation, deps, requester);
  return { rotation: asked ?? (await deps.store.get(stored.rotation.id)) ?? stored.rotation, created: true };
}

function isOpen(rotation: Rotation, now: number): boolean {
  if (rotation.state === 'requested') return now - Date.parse(rotation.updatedAt) >= STUCK_REQUEST_MS;
  if (rotation.state === 'overdue') return now - Date.parse(rotation.deadline) < LATE_KEY_WINDOW_MS;
  return rotation.state === 'pending';
}

/**
 * Whether a granted disclosure is rotated without anyone asking: always with `auto`; with
 * `request`, a key an employee got through self-service (no agent is there to press "Rotate now").
 */
function rotatesOnItsOwn(mode: RotationService['mode'], record: AuditRecord): boolean {
  return mode === 'auto' || (mode === 'request' && record.door === 'self_service');
}

/**
 * Rotations asked for on their own at once: each is a few statements on the rotations' pool of 2
 * connections and a Graph call. Queued beyond that, a burst of `auto` disclosures waits its turn
 * instead of past the pool's one-second checkout timeout (which lost the rotation).
 */
const BACKGROUND_CONCURRENCY = 2;

export function createRotationService(deps: RotationServiceDeps): RotationService {
  const request: RotationService['request'] = async (disclosureId, requester) => {
    if (deps.config.mode === 'off') throw new KeyDeskProblem('rotation_off', 'This KeyDesk does not rotate recovery keys (ROTATE_AFTER_DISCLOSURE=off). Rotate the key in Intune, or ask its operators to set ROTATE_AFTER_DISCLOSURE=request.');
    const existing = await deps.store.forDisclosure(disclosureId);
    if (existing) return { rotation: existing, created: false };
    return start(await grantedRecord(deps.audit, disclosureId), requester, deps);
  };
  const background = latestPerKey<AuditRecord>(
    async (record) => {
      // After the answer: the key goes out first, whatever the rotation meets.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const requester = { caller: record.caller, requestId: record.requestId, callerRequestId: record.callerRequestId };
      await request(record.disclosureId!, requester).catch((error: unknown) =>
        deps.logger.error({ err: error, rotation: { disclosureId: record.disclosureId } }, 'the rotation after the disclosure could not be asked for'),
      );
    },
    { concurrency: BACKGROUND_CONCURRENCY, onError: (error) => deps.logger.error({ err: error }, 'the rotation after the disclosure could not be asked for') },
  );
  return {
    mode: deps.config.mode,
    request,
    list: (filter) => deps.store.list(filter),
    forDisclosure: (disclosureId) => deps.store.forDisclosure(disclosureId),
    afterDisclosure(record) {
      if (!rotatesOnItsOwn(deps.config.mode, record) || record.action !== 'disclosure' || record.outcome !== 'granted' || record.disclosureId === null) return;
      // One per disclosure: never superseded, only queued.
      background.submit(record.disclosureId, record);
    },
    async checkOpen() {
      const now = deps.now();
      const open = (await deps.store.inStates(['requested', 'pending', 'overdue'], CHECK_BATCH)).filter((rotation) => isOpen(rotation, now));
      for (const rotation of open) {
        try {
          await (rotation.state === 'requested' ? askIntune(rotation, deps, null) : checkRotation(rotation, deps));
        } catch (error) {
          // Graph down or throttled: the rotation stays as it is for the next look.
          deps.logger.warn({ err: error, rotation: { id: rotation.id, state: rotation.state } }, 'a rotation could not be checked');
        }
      }
    },
    async checkPermission() {
      if (deps.config.mode === 'off') return;
      const roles = await deps.intune.grantedRoles();
      if (roles === null || ROTATION_PERMISSIONS.some((permission) => roles.includes(permission))) return;
      deps.logger.warn(
        { graph: { permissions: [...ROTATION_PERMISSIONS] } },
        `ROTATE_AFTER_DISCLOSURE=${deps.config.mode} but KeyDesk's Graph token holds neither ${ROTATION_PERMISSIONS.join(' nor ')}: every rotation will fail with graph_permission_missing. Grant one (with admin consent); both allow far more than rotation, remote wipe among them.`,
      );
    },
    async idle() {
      await background.idle();
    },
  };
}
