import type { EnvReader } from './config.js';

/**
 * SELF_SERVICE_*: the employees' own door (/self-service/). Off unless SELF_SERVICE=on, and only
 * with the web UI (PUBLIC_BASE_URL): an employee signs in through the same Entra sign-in as staff.
 */
export interface SelfServiceConfig {
  /** SELF_SERVICE=on: the door is open. */
  enabled: boolean;
  /** Only (transitive) members of this group may use the door; null lets every member of the tenant (never a guest). */
  groupId: string | null;
  /** The Conditional Access authentication context a self-service disclosure needs; null when neither it nor REQUIRE_AUTH_CONTEXT is set. */
  authContext: string | null;
  /** Granted self-service disclosures one employee may have in any 24 hours. */
  disclosuresPerDay: number;
  /** Whom the pages tell an employee to call instead (over the limit, not allowed, a refusal). */
  helpContact: string;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const AUTH_CONTEXT = /^c(?:[1-9]|[1-9][0-9])$/;

export function readSelfServiceConfig(reader: EnvReader, options: { webUi: boolean; requiredAuthContext: string | null }): SelfServiceConfig {
  const enabled = reader.oneOf('SELF_SERVICE', ['on', 'off'], 'off', 'on opens /self-service/ to employees') === 'on';
  if (enabled && !options.webUi) {
    reader.problem('SELF_SERVICE=on needs the web UI: set PUBLIC_BASE_URL (and SESSION_SECRET), the address employees open on their phone, or set SELF_SERVICE=off');
  }
  const groupId = reader.text('SELF_SERVICE_GROUP_ID') ?? null;
  if (groupId !== null && !GUID.test(groupId)) {
    reader.problem(`SELF_SERVICE_GROUP_ID=${JSON.stringify(groupId)} is not valid: use the Object ID (a GUID) of the Entra group whose members may use self-service`);
  }
  const authContext = reader.text('SELF_SERVICE_AUTH_CONTEXT') ?? null;
  if (authContext !== null && !AUTH_CONTEXT.test(authContext)) {
    reader.problem(
      `SELF_SERVICE_AUTH_CONTEXT=${JSON.stringify(authContext)} is not valid: use the ID of a Conditional Access authentication context, c1 to c99 (Entra admin center > Protection > Conditional Access > Authentication contexts)`,
    );
  }
  return {
    enabled,
    groupId,
    authContext: authContext ?? options.requiredAuthContext,
    disclosuresPerDay: reader.integer('SELF_SERVICE_DISCLOSURES_PER_DAY', 3, 1, 100, 'set how many recovery keys one employee may get through self-service in any 24 hours'),
    helpContact: reader.text('SELF_SERVICE_HELP_CONTACT') ?? 'your IT helpdesk',
  };
}
