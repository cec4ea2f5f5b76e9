import type { AuditRecord, AuditTrail, Door } from '../audit/types.js';
import type { DisabledCheck, RequesterCheck } from '../config/config.js';
import type { Device, GraphGateway, RecoveryKeyMetadata, RecoveryKeyWithPassword } from '../graph/types.js';
import { isProblem } from '../problem/problem.js';
import { refusal } from './wording.js';
import { GRAPH_REQUESTS_PER_REQUEST, GraphBudget } from '../graph/request-budget.js';
import type { DisclosureInput } from './input.js';
import { checkDeviceEnabled, checkReason, checkRequester, checkRequesterEnabled, checkTicket, matchKeyId, pickDevice, type CheckResult } from './rules.js';
import type { DisclosureTrail } from './trail.js';
import { findDeviceByKeyId, type KeyIdFinder } from './key-id-device.js';

/**
 * One disclosure, start to finish: the checks, the audit records and the single key read, in the
 * order that guarantees "no audit record, no key". Knows nothing of HTTP or of doors: the
 * disclosure service hands it checked input and a trail, and records whatever stops it.
 */

export interface DisclosurePolicy {
  requesterCheck: RequesterCheck;
  ticketPattern: RegExp;
  disabledDeviceCheck: DisabledCheck;
  disabledRequesterCheck: DisabledCheck;
}

export interface DisclosureDeps {
  graph: GraphGateway;
  audit: AuditTrail;
  policy: DisclosurePolicy;
  newId: () => string;
  /**
   * The notice a required channel (NOTIFY_*_REQUIRED) must accept before the key is read, given
   * the intent record; rejects with `notification_unavailable` when it was not accepted.
   */
  noticeBeforeRead?: (intent: AuditRecord) => Promise<void>;
  /** Finds the device of a disclosure that names none, by its key ID (the key index). */
  keyIndex?: KeyIdFinder;
}

export interface KeyRead {
  device: Device;
  recoveryKey: RecoveryKeyWithPassword;
  /** The audit record that says the key was disclosed. */
  record: AuditRecord;
}

/**
 * The self-service door's rules do not bend: an employee gets a key of a device they own (or are
 * the Intune primary user of), enabled, on an enabled account, whatever REQUESTER_CHECK,
 * DISABLED_DEVICE_CHECK and DISABLED_REQUESTER_CHECK let the helpdesk do.
 */
function policyFor(door: Door, policy: DisclosurePolicy): DisclosurePolicy {
  if (door !== 'self_service') return policy;
  return { ...policy, requesterCheck: 'enforce', disabledDeviceCheck: 'enforce', disabledRequesterCheck: 'enforce' };
}

export async function discloseRecoveryKey(input: DisclosureInput, trail: DisclosureTrail, doorDeps: DisclosureDeps): Promise<KeyRead> {
  const deps = { ...doorDeps, policy: policyFor(trail.context.door, doorDeps.policy) };
  // The checks that need no Graph call come first: a malformed request costs nothing upstream.
  checkWhy(input, trail, deps.policy);
  const budget = new GraphBudget(GRAPH_REQUESTS_PER_REQUEST);
  const device = await resolveDevice(input, trail, deps, budget);
  const key = await checkKeyAndRequester(input, device, trail, deps, budget);

  // Intent first, durably: Entra logs the read below, and our trail must have it even if we die.
  trail.graphClientRequestId = deps.newId();
  const intent = await deps.audit.append(trail.entry('disclosure_intent', 'pending', null));
  // A required notification channel hears of the disclosure before the key is read; if it does not, the key is not read.
  await deps.noticeBeforeRead?.(intent);
  const read = await readKeyOf(device, key, trail, deps, budget);
  trail.graphRequestId = read.graphRequestId;
  const record = await deps.audit.append(trail.entry('disclosure', 'granted', null));
  trail.outcomeRecorded = true;
  return { device, recoveryKey: read.recoveryKey, record };
}

function checkWhy(input: DisclosureInput, trail: DisclosureTrail, policy: DisclosurePolicy): void {
  // An employee's own request (self-service) has no ticket: its check stays null, not applicable.
  if (input.ticket !== undefined) {
    trail.checks.ticket = false;
    checkTicket(input.ticket, policy.ticketPattern);
    trail.checks.ticket = true;
  }
  trail.checks.reason = false;
  checkReason(input.reason, input.comment);
  trail.checks.reason = true;
}

/** Graph step 1: the device (owners inline), then whether it may be unlocked at all. */
async function resolveDevice(input: DisclosureInput, trail: DisclosureTrail, { graph, policy, keyIndex }: DisclosureDeps, budget: GraphBudget): Promise<Device> {
  trail.checks.deviceResolved = false;
  const device = input.deviceId === undefined && input.deviceName === undefined ? await findDeviceByKeyId(input.keyId, keyIndex, graph, budget) : await namedDevice(input, graph, budget);
  trail.resolved.device = device;
  trail.checks.deviceResolved = true;
  trail.checks.deviceEnabled = 'failed';
  note(trail, checkDeviceEnabled(device, policy.disabledDeviceCheck), 'deviceEnabled');
  return device;
}

/** Graph step 2, in one round trip of wall time: the key list, the Intune record and the requester's account. */
async function checkKeyAndRequester(input: DisclosureInput, device: Device, trail: DisclosureTrail, { graph, policy }: DisclosureDeps, budget: GraphBudget) {
  const [keys, intune, user] = await Promise.all([
    graph.listRecoveryKeys(device.deviceId, budget),
    graph.getIntuneRecord(device.deviceId, budget),
    graph.findUserByUpn(input.requesterUpn, budget),
  ]);
  Object.assign(trail.resolved, { recoveryKeys: keys, intune, requester: user });

  trail.checks.keyIdMatched = false;
  const key = await matchKeyIdOnce(keys, input.keyId, device, trail, { graph, budget });
  trail.resolved.matchedKey = key;
  trail.checks.keyIdMatched = true;

  trail.checks.requester = 'failed';
  const requester = checkRequester(device, intune, input.requesterUpn, policy.requesterCheck);
  trail.checks.requesterMatchedAs = requester.matchedAs;
  note(trail, requester, 'requester');
  trail.checks.requesterEnabled = 'failed';
  note(trail, checkRequesterEnabled(user, device, policy.disabledRequesterCheck), 'requesterEnabled');
  return key;
}

/**
 * The key the key ID names. A key list from the device cache may miss a key escrowed since (a
 * rotation, a reinstall): before refusing, the list is asked of Graph once more.
 */
async function matchKeyIdOnce(keys: RecoveryKeyMetadata[], keyIdInput: string, device: Device, trail: DisclosureTrail, { graph, budget }: { graph: GraphGateway; budget: GraphBudget }): Promise<RecoveryKeyMetadata> {
  try {
    return matchKeyId(keys, keyIdInput, device);
  } catch (error) {
    if (!graph.cachesRecoveryKeys || !isProblem(error) || (error.code !== 'key_id_mismatch' && error.code !== 'key_not_found')) throw error;
    const fresh = await graph.listRecoveryKeys(device.deviceId, budget, { fresh: true });
    trail.resolved.recoveryKeys = fresh;
    return matchKeyId(fresh, keyIdInput, device);
  }
}

/**
 * The one key read. A key that Graph no longer has (404), or that belongs to another device, means
 * what KeyDesk remembered of this device is stale: it is forgotten, and the read refused as a
 * key ID that matches no key of the device (the password of another device's key never leaves).
 */
async function readKeyOf(device: Device, key: RecoveryKeyMetadata, trail: DisclosureTrail, { graph }: DisclosureDeps, budget: GraphBudget) {
  const stale = () => {
    graph.forgetDevice?.(device.deviceId);
    return refusal('key_id_mismatch', { keyIdInput: trail.input?.keyId ?? key.id, deviceName: device.displayName });
  };
  let read;
  try {
    read = await graph.readRecoveryPassword(key.id, trail.graphClientRequestId!, budget);
  } catch (error) {
    if (isProblem(error) && error.code === 'key_not_found') throw stale();
    throw error;
  }
  const owner = read.recoveryKey.deviceId;
  if (owner !== '' && owner.toLowerCase() !== device.deviceId.toLowerCase()) throw stale();
  return read;
}

/** The device the caller named, by Entra device ID or by a display name that must be unique. */
async function namedDevice(input: DisclosureInput, graph: GraphGateway, budget: GraphBudget): Promise<Device> {
  const candidates =
    input.deviceId !== undefined
      ? await graph.getDevice(input.deviceId, budget).then((device) => (device ? [device] : []))
      : (await graph.findDevicesByName(input.deviceName ?? '', budget)).devices;
  return pickDevice(candidates, input);
}

function note(trail: DisclosureTrail, result: CheckResult, check: 'deviceEnabled' | 'requester' | 'requesterEnabled'): void {
  trail.checks[check] = result.verdict;
  if (result.warning) trail.warnings.push(result.warning);
}
