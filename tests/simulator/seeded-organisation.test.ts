import { describe, expect, it } from 'vitest';
import { isRecoveryPassword } from '../../src/graph/graph-gateway.js';
import { buildTenantModel } from '../../simulator/registrations.js';

const REFERENCE = new Date('2026-11-25T00:00:00Z');
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('the seeded organisation', () => {
  const model = buildTenantModel(1, REFERENCE);
  const { directory } = model;

  it('is the same organisation, IDs and passwords included, for the same seed', () => {
    const again = buildTenantModel(1, REFERENCE);
    expect(again.tenantId).toBe(model.tenantId);
    expect(again.keydesk).toEqual(model.keydesk);
    expect(again.directory.devices).toEqual(directory.devices);
    expect(again.directory.recoveryKeys).toEqual(directory.recoveryKeys);
    expect(buildTenantModel(2, REFERENCE).tenantId).not.toBe(model.tenantId);
  });

  it('has about two hundred Windows devices, laptops and desktops, on Windows 10 and 11', () => {
    expect(directory.devices.length).toBeGreaterThanOrEqual(180);
    expect(directory.devices.length).toBeLessThanOrEqual(230);
    const kinds = new Set(directory.devices.map((d) => d.kind));
    expect(kinds).toEqual(new Set(['laptop', 'desktop', 'shared']));
    const releases = new Set(directory.devices.map((d) => d.release.split(' ').slice(0, 2).join(' ')));
    expect(releases).toEqual(new Set(['Windows 10', 'Windows 11']));
    for (const device of directory.devices) expect(device.operatingSystemVersion).toMatch(/^10\.0\.\d{5}\.\d{4}$/);
  });

  it('gives every recovery key a valid recovery password and a unique GUID key ID', () => {
    expect(directory.recoveryKeys.length).toBeGreaterThan(directory.devices.length);
    for (const key of directory.recoveryKeys) {
      expect(isRecoveryPassword(key.key)).toBe(true);
      expect(key.id).toMatch(GUID);
      expect(['1', '2', '3']).toContain(key.volumeType);
      expect(directory.device(key.deviceId)).toBeDefined();
    }
    expect(new Set(directory.recoveryKeys.map((k) => k.id)).size).toBe(directory.recoveryKeys.length);
    expect(new Set(directory.recoveryKeys.map((k) => k.key)).size).toBe(directory.recoveryKeys.length);
  });

  it('shares exactly one display name between two devices', () => {
    const counts = new Map<string, number>();
    for (const device of directory.devices) counts.set(device.displayName, (counts.get(device.displayName) ?? 0) + 1);
    const shared = [...counts].filter(([, n]) => n > 1);
    expect(shared).toEqual([[directory.notable.sharedName.displayName, 2]]);
    const [current, stale] = directory.notable.sharedName.devices;
    expect(current.deviceId).not.toBe(stale.deviceId);
    expect(Date.parse(stale.approximateLastSignInDateTime)).toBeLessThan(Date.parse(current.approximateLastSignInDateTime));
  });

  it('names devices with an apostrophe, &, #, + and a non-ASCII letter', () => {
    const { apostrophe, specialCharacters, nonAscii } = directory.notable;
    expect(apostrophe.displayName).toBe("O'NEIL-PC");
    expect(specialCharacters.displayName).toMatch(/&.*#.*\+/);
    expect(nonAscii.displayName).toBe('MÜLLER-LAPTOP');
    expect(directory.owners(apostrophe)[0]?.displayName).toBe("Siobhán O'Neil");
  });

  it('has the awkward devices a helpdesk meets, each as its name says', () => {
    const { notable } = directory;
    expect(directory.keysOf(notable.typical.deviceId).map((k) => k.volumeType)).toEqual(['1']);
    expect(directory.owners(notable.typical).map((u) => u.id)).toEqual([notable.typical.primaryUserId]);
    expect(directory.keysOf(notable.twoVolumes.deviceId).map((k) => k.volumeType).sort()).toEqual(['1', '2']);
    expect(directory.keysOf(notable.removableVolume.deviceId).map((k) => k.volumeType).sort()).toEqual(['1', '3']);
    expect(directory.keysOf(notable.multipleOsKeys.deviceId).filter((k) => k.volumeType === '1')).toHaveLength(2);
    expect(directory.keysOf(notable.withoutKeys.deviceId)).toEqual([]);
    expect(notable.notManaged.isManaged).toBe(false);
    expect(directory.managedRecordsOf(notable.notManaged.deviceId)).toEqual([]);
    expect(directory.managedRecordsOf(notable.withoutPrimaryUser.deviceId).map((m) => m.userPrincipalName)).toEqual(['']);
    expect(notable.withoutPrimaryUser.ownerIds).toEqual([]);
    expect(directory.primaryUser(notable.primaryUserIsNotOwner)?.id).not.toBe(notable.primaryUserIsNotOwner.ownerIds[0]);
    expect(notable.hybridWithoutOwner.trustType).toBe('ServerAd');
    expect(notable.hybridWithoutOwner.ownerIds).toEqual([]);
    expect(directory.primaryUser(notable.hybridWithoutOwner)).toBeDefined();
    expect(directory.managedRecordsOf(notable.reEnrolled.deviceId)).toHaveLength(2);
    expect(notable.disabled.accountEnabled).toBe(false);
    const withoutKeys = directory.devices.filter((d) => directory.keysOf(d.deviceId).length === 0);
    const unmanaged = directory.devices.filter((d) => !d.isManaged);
    expect(withoutKeys.length).toBeGreaterThanOrEqual(5);
    expect(unmanaged.length).toBeGreaterThanOrEqual(8);
  });

  it('has a stolen (disabled) device, a leaver’s device and a device whose primary user is disabled, each with a key', () => {
    const { disabled, ownerDisabled, primaryUserDisabled } = directory.notable;
    expect(disabled.accountEnabled).toBe(false);
    expect(directory.owners(disabled).map((u) => u.accountEnabled)).toEqual([true]);
    expect(directory.primaryUser(disabled)?.id).toBe(disabled.ownerIds[0]);

    expect(ownerDisabled.accountEnabled).toBe(true);
    expect(directory.owners(ownerDisabled).map((u) => u.accountEnabled)).toEqual([false]);
    expect(directory.managedRecordsOf(ownerDisabled.deviceId).map((m) => m.userId)).toEqual(ownerDisabled.ownerIds);

    expect(primaryUserDisabled.accountEnabled).toBe(true);
    const primary = directory.primaryUser(primaryUserDisabled)!;
    expect(primary.accountEnabled).toBe(false);
    expect(primaryUserDisabled.ownerIds).not.toContain(primary.id);
    expect(directory.owners(primaryUserDisabled).map((u) => u.accountEnabled)).toEqual([true]);
    expect(directory.managedRecordsOf(primaryUserDisabled.deviceId).map((m) => m.userPrincipalName)).toEqual([primary.userPrincipalName]);

    for (const device of [disabled, ownerDisabled, primaryUserDisabled]) expect(directory.keysOf(device.deviceId).map((k) => k.volumeType)).toContain('1');
    expect(new Set([disabled, ownerDisabled, primaryUserDisabled, directory.notable.typical].map((d) => d.deviceId)).size).toBe(4);
  });

  it('registers a chat bot with delegated access only, drawn after the other apps so their IDs stay', () => {
    expect(model.chatBot).toMatchObject({ name: 'Helpdesk chat bot', roles: [] });
    expect([model.keydesk.clientId, ...model.ticketingApps.map((a) => a.clientId)]).not.toContain(model.chatBot.clientId);
  });

  it('has staff with each KeyDesk role and one without, and ticketing apps with and without roles', () => {
    const roles = model.staff.map((s) => s.roles);
    expect(roles).toContainEqual(['BitLocker.Disclose']);
    expect(roles).toContainEqual(['BitLocker.Lookup']);
    expect(roles).toContainEqual(['BitLocker.Audit']);
    expect(roles).toContainEqual([]);
    expect(model.ticketingApps.map((a) => a.roles)).toEqual([['BitLocker.Disclose'], ['BitLocker.Lookup'], [], ['BitLocker.Audit']]);
    for (const member of model.staff) expect(directory.userByUpn(member.upn)?.id).toBe(member.oid);
  });

  it('keeps its invariants for other seeds too', () => {
    for (let seed = 2; seed <= 30; seed++) {
      const { directory: other, staff } = buildTenantModel(seed, REFERENCE);
      const names = other.devices.map((d) => d.displayName);
      expect(names.length - new Set(names).size, `seed ${seed}`).toBe(1);
      expect(other.keysOf(other.notable.twoVolumes.deviceId).length, `seed ${seed}`).toBeGreaterThanOrEqual(2);
      expect(other.keysOf(other.notable.withoutKeys.deviceId), `seed ${seed}`).toEqual([]);
      expect(other.managedRecordsOf(other.notable.typical.deviceId), `seed ${seed}`).toHaveLength(1);
      for (const member of staff) expect(other.user(member.oid)?.accountEnabled, `seed ${seed}`).toBe(true);
      const { disabled, ownerDisabled, primaryUserDisabled } = other.notable;
      expect(other.owners(disabled).map((u) => u.accountEnabled), `seed ${seed}`).toEqual([true]);
      expect(other.owners(ownerDisabled).map((u) => u.accountEnabled), `seed ${seed}`).toEqual([false]);
      expect(other.owners(primaryUserDisabled).map((u) => u.accountEnabled), `seed ${seed}`).toEqual([true]);
      expect(other.primaryUser(primaryUserDisabled)?.accountEnabled, `seed ${seed}`).toBe(false);
    }
  });

  it('gives users ASCII UPNs at the fictional domain, unique, with their names in full', () => {
    const upns = directory.users.map((u) => u.userPrincipalName);
    expect(new Set(upns).size).toBe(upns.length);
    for (const upn of upns) expect(upn).toMatch(/^[a-z0-9.]+@contoso\.example$/);
    expect(directory.userByUpn('juergen.mueller@contoso.example')?.displayName).toBe('Jürgen Müller');
  });
});
