/** KeyDesk's app roles (its API's manifest), for apps and staff alike. */
export const APP_ROLES = {
  disclose: 'BitLocker.Disclose',
  lookup: 'BitLocker.Lookup',
  audit: 'BitLocker.Audit',
} as const;
export type AppRole = (typeof APP_ROLES)[keyof typeof APP_ROLES];

export const KEYDESK_ROLES: readonly string[] = Object.values(APP_ROLES);

/** Whether any of these roles is one of KeyDesk's. */
export const holdsAnyKeyDeskRole = (roles: readonly string[]): boolean => roles.some((role) => KEYDESK_ROLES.includes(role));

/** One role a route or page needs, or a list of which any one will do (Lookup or Audit, say). */
export type RoleRequirement = AppRole | readonly AppRole[];

function rolesOf(required: RoleRequirement): readonly AppRole[] {
  return typeof required === 'string' ? [required] : required;
}

/** Disclose includes look-up: whoever is trusted with keys may also find the device first. */
export function holdsRole(roles: readonly string[], required: RoleRequirement): boolean {
  return rolesOf(required).some((role) => roles.includes(role) || (role === APP_ROLES.lookup && roles.includes(APP_ROLES.disclose)));
}

/** The requirement in words: `BitLocker.Lookup or BitLocker.Audit`. */
export function rolesInWords(required: RoleRequirement): string {
  return rolesOf(required).join(' or ');
}
