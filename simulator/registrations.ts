import { SeededRandom } from './random.js';
import { STAFF, buildOrganisation, type SimDirectory } from './organisation.js';

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

export interface SimTenantModel {
  tenantId: string;
  keydesk: SimKeyDeskApp;
  ticketingApps: SimApp[];
  /** A client app with delegated access to KeyDesk's API (access_as_user): a person acting through it, not a ticketing system. */
  chatBot: SimApp;
  staff: SimStaffMember[];
  directory: SimDirectory;
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
  const directory = buildOrganisation(seed, tenantId, referenceDate);
  const staff = STAFF.map((spec): SimStaffMember => {
    const user = directory.users.find((u) => u.givenName === spec.givenName && u.surname === spec.surname);
    if (!user) throw new Error(`staff member ${spec.givenName} ${spec.surname} is missing from the organisation`);
    return { upn: user.userPrincipalName, name: user.displayName, oid: user.id, roles: [...spec.roles] };
  });
  return { tenantId, keydesk, ticketingApps, chatBot, staff, directory };
}
