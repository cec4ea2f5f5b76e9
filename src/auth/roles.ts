/** KeyDesk's app roles (its API's manifest), for apps and staff alike. */
export const APP_ROLES = {
  disclose: 'BitLocker.Disclose',
  lookup: 'BitLocker.Lookup',
  audit: 'BitLocker.Audit',
} as const;
export type AppRole = (typeof APP_ROLES)[keyof typeof APP_ROLES];

export const KEYDESK_ROLES: readonly string[] = Object.values(APP_ROLES);

/** Disclose includes look-up: whoever is trusted with keys may also find the device first. */
export function holdsRole(roles: readonly string[], role: AppRole): boolean {
  return roles.includes(role) || (role === APP_ROLES.lookup && roles.includes(APP_ROLES.disclose));
}
