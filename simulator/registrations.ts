import { SeededRandom } from './random.js';
import { NAMED_PEOPLE, STAFF, buildOrganisation, type SimDirectory } from './organisation.js';

/**
 * The tenant's app registrations and app role assignments, as an Entra admin would have set them
 * up for KeyDesk: KeyDesk's own registration (its API's app roles, its Graph application
 * permissions), the ticketing systems that call KeyDesk's API, and which staff hold which role.
 */

/** The Graph application permissions KeyDesk's README asks an admin to grant (with admin consent). */
export const KEYDESK_GRAPH_PERMISSIONS: readonly string[] = [
  'Device.Read.All',
  'User.Read.All',
  'DeviceManagementManagedDevices.Read.All',
  'BitlockerKey.Read.All',
  // The reconciliation with Entra's audit log (the README also asks for Directory.Read.All, which
  // Microsoft lists beside it; the simulated tenant checks AuditLog.Read.All only).
  'AuditLog.Read.All',
  // SELF_SERVICE_GROUP_ID: checkMemberGroups.
  'GroupMember.Read.All',
  // Rotation after disclosure (Intune's beta rotateBitLockerKeys); the README warns how much more it allows.
  'DeviceManagementManagedDevices.ReadWrite.All',
];

/** App roles KeyDesk's API defines (`appRoles` in its manifest). */
export const KEYDESK_APP_ROLES: readonly string[] = ['BitLocker.Disclose', 'BitLocker.Lookup', 'BitLocker.Audit'];

/** The delegated scope KeyDesk's API exposes ("Expose an API"), for the web UI's own calls. */
export const KEYDESK_DELEGATED_SCOPE = 'access_as_user';

export interface SimApp {
  name: string;
  clientId: string;
  clientSecret: string;
  /** Object id of the app's service principal: the `oid` of its app-only tokens. */
  servicePrincipalId: string;
  /** App roles of KeyDesk's API assigned to this app. */
  roles: string[];
}

export interface SimStaffMember {
  upn: string;
  name: string;
  oid: string;
  roles: string[];
}

export interface SimKeyDeskApp {
  clientId: string;
  clientSecret: string;
  appIdUri: string;
  servicePrincipalId: string;
  /** Delegated scopes of KeyDesk's API, fully qualified (`api://…/access_as_user`). */
  scopes: string[];
}

/** An Entra security group: its user members and the groups that are its members (nested). */
export interface SimGroup {
  id: string;
  displayName: string;
  memberIds: string[];
  memberGroupIds: string[];
}

export interface SimTenantModel {
  tenantId: string;
  keydesk: SimKeyDeskApp;
  ticketingApps: SimApp[];
  /** A client app with delegated access to KeyDesk's API (access_as_user): a person acting through it, not a ticketing system. */
  chatBot: SimApp;
  staff: SimStaffMember[];
  /** Employees with no KeyDesk role who use self-service (the named people: each owns a notable device). */
  employees: SimStaffMember[];
  /** Security groups (SELF_SERVICE_GROUP_ID): fixed ids, so adding them drew nothing from the seed. */
  groups: SimGroup[];
  directory: SimDirectory;
}

/** "BitLocker self-service" holds O'Neil directly and, through the nested "Engineering" group, Müller; Díaz is in neither. */
export const SELF_SERVICE_GROUP_ID = '5e1f5e1f-0b1c-4d2e-8f3a-000000000001';
const ENGINEERING_GROUP_ID = '5e1f5e1f-0b1c-4d2e-8f3a-000000000002';

function groupsOf(directory: SimDirectory): SimGroup[] {
  const idOf = (givenName: string) => directory.users.find((u) => u.givenName === givenName)?.id;
  const ids = (...names: string[]) => names.map(idOf).filter((id): id is string => id !== undefined);
  return [
    { id: SELF_SERVICE_GROUP_ID, displayName: 'BitLocker self-service', memberIds: ids('Siobhán'), memberGroupIds: [ENGINEERING_GROUP_ID] },
    { id: ENGINEERING_GROUP_ID, displayName: 'Engineering', memberIds: ids('Jürgen'), memberGroupIds: [] },
  ];
}

/** Client secrets shaped like Entra's: 40 characters with its `Q~` marker. */
function clientSecret(random: SeededRandom): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return `${random.text(3, alphabet)}${random.int(0, 9)}Q~${random.text(34, `${alphabet}_.-~`)}`;
}

export function buildTenantModel(seed: number, referenceDate: Date): SimTenantModel {
  // Registrations get their own stream so changes to the organisation keep the same app IDs.
  const random = new SeededRandom(seed);
  const tenantId = random.guid();
  const keydeskClientId = random.guid();
  const keydesk: SimKeyDeskApp = {
    clientId: keydeskClientId,
    clientSecret: clientSecret(random),
    appIdUri: `api://${keydeskClientId}`,
    servicePrincipalId: random.guid(),
    scopes: [`api://${keydeskClientId}/${KEYDESK_DELEGATED_SCOPE}`],
  };
  const ticketing = (name: string, roles: string[]): SimApp => ({
    name,
    clientId: random.guid(),
    clientSecret: clientSecret(random),
    servicePrincipalId: random.guid(),
    roles,
  });
  const ticketingApps = [
    ticketing('ServiceNow (Contoso IT)', ['BitLocker.Disclose']),
    ticketing('Jira Service Management', ['BitLocker.Lookup']),
    ticketing('Freshservice (evaluation)', []),
  ];
  // Drawn after the others, so adding it kept every earlier ID. It holds no app role of its own:
  // its tokens for KeyDesk's API carry the signed-in user's roles.
  const chatBot = ticketing('Helpdesk chat bot', []);
  // Drawn after the chat bot for the same reason: the security team's own tooling (a SIEM, a
  // script answering auditors), the one app with BitLocker.Audit, for the audit API.
  ticketingApps.push(ticketing('Security tooling (SOC)', ['BitLocker.Audit']));
  const directory = buildOrganisation(seed, tenantId, referenceDate);
  const staff = STAFF.map((spec): SimStaffMember => {
    const user = directory.users.find((u) => u.givenName === spec.givenName && u.surname === spec.surname);
    if (!user) throw new Error(`staff member ${spec.givenName} ${spec.surname} is missing from the organisation`);
    return { upn: user.userPrincipalName, name: user.displayName, oid: user.id, roles: [...spec.roles] };
  });
  const employees = NAMED_PEOPLE.map((spec): SimStaffMember => {
    const user = directory.users.find((u) => u.givenName === spec.givenName && u.surname === spec.surname)!;
    return { upn: user.userPrincipalName, name: user.displayName, oid: user.id, roles: [] };
  });
  return { tenantId, keydesk, ticketingApps, chatBot, staff, employees, groups: groupsOf(directory), directory };
}
