import { SeededRandom } from './random.js';

/**
 * The fictional organisation the simulated tenant serves: Contoso's employees, their Windows
 * devices as Entra ID and Intune know them, and the BitLocker recovery keys escrowed for them.
 * Drawn from a seed, so the same seed gives the same people, names, IDs and passwords. The
 * awkward cases a helpdesk meets are put in on purpose and named in `notable`.
 */

export const TENANT_DOMAIN = 'contoso.example';

export interface SimUser {
  id: string;
  userPrincipalName: string;
  displayName: string;
  givenName: string;
  surname: string;
  mail: string;
  jobTitle: string;
  department: string;
  officeLocation: string;
  preferredLanguage: string;
  accountEnabled: boolean;
  /** Absent: a member. A guest (B2B) account says `Guest`. */
  userType?: 'Member' | 'Guest';
}

/** Graph's numeric strings: "1" OS volume, "2" fixed data volume, "3" removable data volume. */
export type SimVolumeType = '1' | '2' | '3';

export interface SimRecoveryKey {
  /** The key ID; its first 8 hex digits are what the recovery screen shows. */
  id: string;
  deviceId: string;
  volumeType: SimVolumeType;
  createdDateTime: string;
  /** The recovery password. */
  key: string;
}

export type SimDeviceKind = 'laptop' | 'desktop' | 'shared';

export interface SimDevice {
  /** Directory object id (`/devices/{id}`). */
  id: string;
  /** Entra device ID: what recovery keys and Intune's azureADDeviceId name. */
  deviceId: string;
  displayName: string;
  kind: SimDeviceKind;
  operatingSystem: 'Windows';
  operatingSystemVersion: string;
  /** e.g. "Windows 11 23H2", for people reading the seed. */
  release: string;
  /** AzureAd: Entra joined; ServerAd: hybrid joined (these usually have no registered owner). */
  trustType: 'AzureAd' | 'ServerAd';
  accountEnabled: boolean;
  isCompliant: boolean | null;
  /** True when Intune manages it (it then has a managed device record). */
  isManaged: boolean;
  registrationDateTime: string;
  approximateLastSignInDateTime: string;
  manufacturer: string;
  model: string;
  serialNumber: string;
  /** Registered owners (user ids), in the order Graph lists them. */
  ownerIds: string[];
  /** Intune primary user: a user id, null when Intune manages it without one, undefined when not managed. */
  primaryUserId: string | null | undefined;
}

export interface SimManagedDevice {
  /** Intune's own id, not the Entra device ID. */
  id: string;
  azureADDeviceId: string;
  deviceName: string;
  /** Intune writes "" (not null) for the user fields of a device without a primary user. */
  userId: string;
  userPrincipalName: string;
  userDisplayName: string;
  emailAddress: string;
  operatingSystem: 'Windows';
  osVersion: string;
  lastSyncDateTime: string;
  enrolledDateTime: string;
  complianceState: 'compliant' | 'noncompliant';
  manufacturer: string;
  model: string;
  serialNumber: string;
  isEncrypted: boolean;
  managedDeviceOwnerType: 'company';
  deviceEnrollmentType: 'windowsAzureADJoin' | 'windowsCoManagement' | 'windowsAutoEnrollment';
}

/** Devices tests and demos reach for by what is special about them. */
export interface SimNotableDevices {
  /** Managed, one owner who is also the Intune primary user, one OS-volume key. */
  typical: SimDevice;
  /** The one display name two device objects share (a re-imaged laptop and its stale old object). */
  sharedName: { displayName: string; devices: [SimDevice, SimDevice] };
  /** `O'NEIL-PC`: an apostrophe, which OData doubles inside a string literal. */
  apostrophe: SimDevice;
  /** `R&D-PC#1+2`: characters that break a query string unless percent-encoded. */
  specialCharacters: SimDevice;
  /** `MÜLLER-LAPTOP`: a non-ASCII letter. */
  nonAscii: SimDevice;
  /** OS volume plus a fixed data volume: two keys. */
  twoVolumes: SimDevice;
  /** A BitLocker To Go (removable data volume, "3") key besides its OS key. */
  removableVolume: SimDevice;
  /** Two OS-volume keys: the old one of a reinstall was never removed. */
  multipleOsKeys: SimDevice;
  /** No key was ever escrowed. */
  withoutKeys: SimDevice;
  /** Not enrolled in Intune: no managed device record, isManaged false. */
  notManaged: SimDevice;
  /** Intune-managed shared device: no primary user ("" in Intune) and no registered owner. */
  withoutPrimaryUser: SimDevice;
  /** Handed over: the registered owner is the former user, Intune's primary user the new one. */
  primaryUserIsNotOwner: SimDevice;
  /** Hybrid joined: no registered owner, Intune names the primary user. */
  hybridWithoutOwner: SimDevice;
  /** Re-enrolled in Intune: two managed device records for one Entra device ID. */
  reEnrolled: SimDevice;
  /** Disabled in Entra (accountEnabled false): reported stolen. It has an OS-volume key and one enabled registered owner, who is also its Intune primary user. */
  disabled: SimDevice;
  /** A leaver's laptop: its only registered owner, also its Intune primary user, is a disabled account. The device itself is enabled and has a key. */
  ownerDisabled: SimDevice;
  /** Intune's primary user is a disabled account and not a registered owner; the one registered owner is enabled. The device is enabled and has a key. */
  primaryUserDisabled: SimDevice;
}

export interface SimDirectory {
  tenantId: string;
  domain: string;
  users: readonly SimUser[];
  devices: readonly SimDevice[];
  managedDevices: readonly SimManagedDevice[];
  recoveryKeys: readonly SimRecoveryKey[];
  notable: SimNotableDevices;
  user(id: string): SimUser | undefined;
  userByUpn(upn: string): SimUser | undefined;
  /** By Entra device ID. */
  device(deviceId: string): SimDevice | undefined;
  /** Exact display name, as a person would type it. */
  devicesNamed(displayName: string): SimDevice[];
  owners(device: SimDevice): SimUser[];
  primaryUser(device: SimDevice): SimUser | undefined;
  keysOf(deviceId: string): SimRecoveryKey[];
  managedRecordsOf(deviceId: string): SimManagedDevice[];
}

const GIVEN_NAMES = [
  'Amelia', 'Aarav', 'Chloé', 'Søren', 'Björn', 'José', 'Zoë', 'Łukasz', 'Fatima', 'Kenji', 'Olivia', 'Mateo',
  'Ingrid', 'Kwame', 'Mei', 'Rahul', 'Sofia', 'Noah', 'Elif', 'Hannah', 'Omar', 'Lucía', 'Jonas', 'Aisha',
  'Pieter', 'Nadia', 'Ethan', 'Camille', 'Diego', 'Yuki', 'Freya', 'Malik', 'Ana', 'Henrik', 'Leila', 'Tom',
  'Marta', 'Samuel', 'Ines', 'Viktor', 'Chiara', 'Daniel', 'Émile', 'Greta', 'Ibrahim', 'Julia', 'Karim', 'Laura',
];
const SURNAMES = [
  'Jansen', 'Patel', 'Dubois', 'Nielsen', 'Lindqvist', 'García', 'Kowalski', 'Haddad', 'Sato', 'Brown', 'Rossi',
  'Andersen', 'Mensah', 'Chen', 'Sharma', 'Moreau', 'Fischer', 'Yılmaz', 'Weber', 'Khan', 'Fernández', 'Berg',
  'Ali', 'de Vries', 'Hassan', 'Walker', 'Laurent', 'Silva', 'Nakamura', 'Eriksson', 'Osei', 'Costa', 'Holm',
  'Rahimi', 'Smith', 'Novak', 'Ward', 'Bianchi', 'Schmidt', 'Kim', 'Lefèvre', 'Schneider', 'Popescu', 'Murphy',
];
const DEPARTMENTS: ReadonlyArray<{ name: string; titles: string[] }> = [
  { name: 'Finance', titles: ['Accountant', 'Financial Controller', 'Payroll Specialist'] },
  { name: 'Sales', titles: ['Account Executive', 'Sales Manager', 'Sales Development Representative'] },
  { name: 'Marketing', titles: ['Marketing Specialist', 'Content Designer', 'Brand Manager'] },
  { name: 'Engineering', titles: ['Software Engineer', 'Site Reliability Engineer', 'Engineering Manager'] },
  { name: 'R&D', titles: ['Research Scientist', 'Lab Technician', 'Hardware Engineer'] },
  { name: 'Human Resources', titles: ['HR Business Partner', 'Recruiter'] },
  { name: 'Legal', titles: ['Legal Counsel', 'Paralegal'] },
  { name: 'Operations', titles: ['Operations Coordinator', 'Facilities Manager', 'Logistics Planner'] },
  { name: 'Customer Support', titles: ['Support Engineer', 'Customer Success Manager'] },
];
const OFFICES = [
  { city: 'Amsterdam', language: 'nl-NL', code: 'AMS' },
  { city: 'Leeds', language: 'en-GB', code: 'LDS' },
  { city: 'Munich', language: 'de-DE', code: 'MUC' },
  { city: 'Lyon', language: 'fr-FR', code: 'LYS' },
  { city: 'Toronto', language: 'en-CA', code: 'YYZ' },
];
const RELEASES = [
  { release: 'Windows 11 24H2', build: '10.0.26100', patches: ['2033', '2314', '2605'], weight: 35 },
  { release: 'Windows 11 23H2', build: '10.0.22631', patches: ['4317', '4460', '4751'], weight: 35 },
  { release: 'Windows 11 22H2', build: '10.0.22621', patches: ['4317', '4460'], weight: 10 },
  { release: 'Windows 10 22H2', build: '10.0.19045', patches: ['5131', '5247', '5371', '5487'], weight: 20 },
];
// Serial numbers follow each maker's usual shape: Dell's 7-character service tag, HP's and
// Lenovo's prefixes, Surface's 12 digits.
const LAPTOP_MODELS = [
  { manufacturer: 'LENOVO', model: 'ThinkPad T14 Gen 4', serial: { prefix: 'PF', length: 8, alphabet: 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789' } },
  { manufacturer: 'Dell Inc.', model: 'Latitude 7440', serial: { prefix: '', length: 7, alphabet: 'BCDFGHJKLMNPQRSTVWXYZ0123456789' } },
  { manufacturer: 'HP', model: 'HP EliteBook 840 G10', serial: { prefix: '5CG', length: 10, alphabet: 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789' } },
  { manufacturer: 'Microsoft Corporation', model: 'Surface Laptop 5', serial: { prefix: '0', length: 12, alphabet: '0123456789' } },
];
const DESKTOP_MODELS = [
  { manufacturer: 'Dell Inc.', model: 'OptiPlex 7010', serial: { prefix: '', length: 7, alphabet: 'BCDFGHJKLMNPQRSTVWXYZ0123456789' } },
  { manufacturer: 'HP', model: 'HP EliteDesk 800 G9', serial: { prefix: 'CZC', length: 10, alphabet: 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789' } },
  { manufacturer: 'LENOVO', model: 'ThinkCentre M70q Gen 4', serial: { prefix: 'MJ', length: 8, alphabet: 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789' } },
];
const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const DAY_MS = 86_400_000;

/** "Jürgen" -> "juergen", "Łukasz" -> "lukasz", "O'Neil" -> "oneil": UPNs are ASCII. */
function upnPart(name: string): string {
  const folded = name
    .toLowerCase()
    .replaceAll('ä', 'ae')
    .replaceAll('ö', 'oe')
    .replaceAll('ü', 'ue')
    .replaceAll('ß', 'ss')
    .replaceAll('ø', 'o')
    .replaceAll('æ', 'ae')
    .replaceAll('ł', 'l')
    .replaceAll('ı', 'i')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '');
  return folded.replace(/[^a-z0-9]+/g, '');
}

interface PersonSpec {
  givenName: string;
  surname: string;
  department: string;
  jobTitle: string;
}

export interface StaffSpec extends PersonSpec {
  /** App roles on KeyDesk's enterprise app. */
  roles: string[];
}

/** The helpdesk staff who sign in to KeyDesk's web UI, with and without its roles. */
export const STAFF: readonly StaffSpec[] = [
  { givenName: 'Priya', surname: 'Raman', department: 'IT Service Desk', jobTitle: 'Service Desk Analyst', roles: ['BitLocker.Disclose'] },
  { givenName: 'Tomás', surname: 'Herrera', department: 'IT Service Desk', jobTitle: 'First Line Support Analyst', roles: ['BitLocker.Lookup'] },
  { givenName: 'Grace', surname: 'Okafor', department: 'Information Security', jobTitle: 'IT Auditor', roles: ['BitLocker.Audit'] },
  { givenName: 'Aiko', surname: 'Tanaka', department: 'IT Service Desk', jobTitle: 'Service Desk Team Lead', roles: ['BitLocker.Disclose', 'BitLocker.Audit'] },
  { givenName: 'Liam', surname: 'Novak', department: 'IT Service Desk', jobTitle: 'Service Desk Analyst (new starter)', roles: [] },
];

/** Owners of the notable devices, so their names read naturally. */
export const NAMED_PEOPLE: readonly PersonSpec[] = [
  { givenName: 'Siobhán', surname: "O'Neil", department: 'Sales', jobTitle: 'Account Executive' },
  { givenName: 'Jürgen', surname: 'Müller', department: 'Engineering', jobTitle: 'Software Engineer' },
  { givenName: 'Rafael', surname: 'Díaz', department: 'R&D', jobTitle: 'Lab Technician' },
];

/** People whose accounts are disabled, for the notable leaver cases (added after everyone else). */
const LEAVERS: readonly PersonSpec[] = [
  { givenName: 'Declan', surname: 'Byrne', department: 'Sales', jobTitle: 'Regional Sales Manager' },
  { givenName: 'Mirela', surname: 'Ionescu', department: 'Finance', jobTitle: 'Payroll Specialist' },
];

const EMPLOYEE_COUNT = 160;

export function buildOrganisation(seed: number, tenantId: string, referenceDate: Date): SimDirectory {
  const random = new SeededRandom(seed ^ 0x0c0a7e);
  const reference = referenceDate.getTime();
  const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const daysAgo = (min: number, max: number): number => reference - random.int(min * 24, max * 24) * 3_600_000 - random.int(0, 3_599) * 1000;

  // People.
  const users: SimUser[] = [];
  const upns = new Set<string>();
  const addUser = (spec: PersonSpec): SimUser => {
    const office = random.pick(OFFICES);
    let local = `${upnPart(spec.givenName)}.${upnPart(spec.surname)}`;
    for (let n = 2; upns.has(local); n++) local = `${upnPart(spec.givenName)}.${upnPart(spec.surname)}${n}`;
    upns.add(local);
    const upn = `${local}@${TENANT_DOMAIN}`;
    const user: SimUser = {
      id: random.guid(),
      userPrincipalName: upn,
      displayName: `${spec.givenName} ${spec.surname}`,
      givenName: spec.givenName,
      surname: spec.surname,
      mail: upn,
      jobTitle: spec.jobTitle,
      department: spec.department,
      officeLocation: office.city,
      preferredLanguage: office.language,
      accountEnabled: true,
    };
    users.push(user);
    return user;
  };
  const staffUsers = STAFF.map(addUser);
  const [oneil, mueller, diaz] = NAMED_PEOPLE.map(addUser) as [SimUser, SimUser, SimUser];
  const names = new Set(users.map((u) => u.displayName));
  while (users.length < EMPLOYEE_COUNT + STAFF.length + NAMED_PEOPLE.length) {
    const givenName = random.pick(GIVEN_NAMES);
    const surname = random.pick(SURNAMES);
    if (names.has(`${givenName} ${surname}`)) continue;
    names.add(`${givenName} ${surname}`);
    const department = random.pick(DEPARTMENTS);
    addUser({ givenName, surname, department: department.name, jobTitle: random.pick(department.titles) });
  }
  const employees = users.filter((u) => !staffUsers.includes(u));

  // Devices.
  const devices: SimDevice[] = [];
  const displayNames = new Set<string>();
  const assetNumbers = new Set<number>();
  const uniqueName = (make: () => string): string => {
    for (;;) {
      const name = make();
      if (!displayNames.has(name)) {
        displayNames.add(name);
        return name;
      }
    }
  };
  const corporateName = (kind: 'LT' | 'DT'): string => {
    let asset = random.int(1, 2999);
    while (assetNumbers.has(asset) || asset === 42) asset = random.int(1, 2999);
    assetNumbers.add(asset);
    return `CONTOSO-${kind}-${String(asset).padStart(4, '0')}`;
  };
  const windowsDefaultName = (kind: 'laptop' | 'desktop'): string =>
    kind === 'laptop' ? `LAPTOP-${random.text(8, UPPER_ALNUM)}` : `DESKTOP-${random.text(7, UPPER_ALNUM)}`;
  const pickRelease = () => {
    let roll = random.int(1, 100);
    for (const release of RELEASES) {
      roll -= release.weight;
      if (roll <= 0) return release;
    }
    return RELEASES[0]!;
  };
  const claimName = (name: string): string => {
    if (displayNames.has(name)) throw new Error(`the simulated organisation already has a device named ${name}`);
    displayNames.add(name);
    return name;
  };

  const addDevice = (
    kind: SimDeviceKind,
    options: { name?: string; owner?: SimUser | null; primaryUser?: SimUser | null; managed?: boolean; trustType?: 'AzureAd' | 'ServerAd' } = {},
  ): SimDevice => {
    const hardware = random.pick(kind === 'laptop' ? LAPTOP_MODELS : DESKTOP_MODELS);
    const release = pickRelease();
    const trustType = options.trustType ?? (random.chance(0.08) ? 'ServerAd' : 'AzureAd');
    const managed = options.managed ?? true;
    // Hybrid-joined devices are joined by the computer account: Entra records no registered owner.
    const owner = options.owner === undefined ? null : options.owner;
    const registered = daysAgo(40, 900);
    const device: SimDevice = {
      id: random.guid(),
      deviceId: random.guid(),
      displayName:
        options.name ??
        uniqueName(() => (random.chance(0.65) ? corporateName(kind === 'laptop' ? 'LT' : 'DT') : windowsDefaultName(kind === 'laptop' ? 'laptop' : 'desktop'))),
      kind,
      operatingSystem: 'Windows',
      operatingSystemVersion: `${release.build}.${random.pick(release.patches)}`,
      release: release.release,
      trustType,
      accountEnabled: true,
      isCompliant: managed ? random.chance(0.93) : null,
      isManaged: managed,
      registrationDateTime: iso(registered),
      approximateLastSignInDateTime: iso(Math.max(registered + DAY_MS, daysAgo(0, 12))),
      manufacturer: hardware.manufacturer,
      model: hardware.model,
      serialNumber: hardware.serial.prefix + random.text(hardware.serial.length - hardware.serial.prefix.length, hardware.serial.alphabet),
      ownerIds: owner && trustType === 'AzureAd' ? [owner.id] : [],
      primaryUserId: managed ? (options.primaryUser === undefined ? (owner?.id ?? null) : (options.primaryUser?.id ?? null)) : undefined,
    };
    devices.push(device);
    return device;
  };

  for (const user of [...staffUsers, ...employees.filter((u) => u !== oneil && u !== mueller && u !== diaz)]) {
    const roll = random.next();
    if (roll < 0.05) {
      addDevice('desktop', { owner: user });
    } else {
      addDevice('laptop', { owner: user });
      if (roll > 0.84) addDevice('desktop', { owner: user });
    }
  }

  // The notable devices.
  const apostrophe = addDevice('desktop', { name: claimName("O'NEIL-PC"), owner: oneil, trustType: 'AzureAd' });
  const nonAscii = addDevice('laptop', { name: claimName('MÜLLER-LAPTOP'), owner: mueller, trustType: 'AzureAd' });
  addDevice('laptop', { owner: diaz, trustType: 'AzureAd' });
  const specialCharacters = addDevice('desktop', { name: claimName('R&D-PC#1+2'), owner: diaz, primaryUser: null, trustType: 'AzureAd' });
  const sharedOwner = random.pick(employees.filter((u) => u !== oneil && u !== mueller && u !== diaz));
  const sharedName = claimName('CONTOSO-LT-0042');
  const reimaged = addDevice('laptop', { name: sharedName, owner: sharedOwner, trustType: 'AzureAd' });
  // The laptop's object from before it was re-imaged: still in Entra, long silent, no longer in Intune.
  const stale = addDevice('laptop', { name: sharedName, owner: sharedOwner, managed: false, trustType: 'AzureAd' });
  stale.registrationDateTime = iso(reference - 700 * DAY_MS);
  stale.approximateLastSignInDateTime = iso(reference - 200 * DAY_MS - 5 * 3_600_000);
  stale.operatingSystemVersion = '10.0.19045.4291';
  stale.release = 'Windows 10 22H2';

  for (const office of OFFICES) {
    const room = `${random.int(1, 6)}${random.pick(['A', 'B', 'C'])}`;
    addDevice('shared', { name: uniqueName(() => `CONF-${office.code}-${room}`), owner: null, primaryUser: null, trustType: 'AzureAd' });
  }
  addDevice('shared', { name: claimName('RECEPTION-AMS-01'), owner: null, primaryUser: null, trustType: 'AzureAd' });

  const owned = (d: SimDevice) => d.ownerIds.length === 1 && d.isManaged && d.primaryUserId === d.ownerIds[0] && d.kind === 'laptop';
  // Staff keep ordinary accounts and devices: the notable cases (a disabled leaver among them) are employees'.
  const staffIds = new Set(staffUsers.map((u) => u.id));
  const candidates = random.shuffle(devices.filter((d) => owned(d) && d.displayName !== sharedName && d !== nonAscii && !staffIds.has(d.ownerIds[0]!)));
  const take = (): SimDevice => {
    const device = candidates.pop();
    if (!device) throw new Error('the simulated organisation ran out of ordinary devices');
    return device;
  };
  const typical = take();

  // Not in Intune: some hybrid devices managed by Configuration Manager alone, some never enrolled.
  const notManaged = take();
  for (const device of [notManaged, ...random.shuffle(devices.filter((d) => d.trustType === 'ServerAd')).slice(0, 4), take(), take(), take(), take(), take(), take()]) {
    device.isManaged = false;
    device.isCompliant = null;
    device.primaryUserId = undefined;
  }
  const hybridWithoutOwner = devices.find((d) => d.trustType === 'ServerAd' && d.isManaged && d.primaryUserId) ?? take();
  hybridWithoutOwner.trustType = 'ServerAd';
  hybridWithoutOwner.ownerIds = [];
  hybridWithoutOwner.primaryUserId ??= random.pick(employees).id;

  const primaryUserIsNotOwner = take();
  // The registered owner has left (account disabled); the laptop went to a colleague in Intune only.
  const leaver = users.find((u) => u.id === primaryUserIsNotOwner.ownerIds[0]);
  if (leaver) leaver.accountEnabled = false;
  const successor = random.pick(employees.filter((u) => u !== leaver && u !== oneil && u !== mueller));
  primaryUserIsNotOwner.primaryUserId = successor.id;

  const disabled = take();
  disabled.accountEnabled = false;

  const withoutPrimaryUser = devices.find((d) => d.kind === 'shared')!;
  const reEnrolled = take();

  // Recovery keys.
  const recoveryKeys: SimRecoveryKey[] = [];
  const withoutKeysList = [take(), take(), take(), take(), take(), take(), notManaged];
  const withoutKeys = withoutKeysList[0]!;
  const escrow = (device: SimDevice, volumeType: SimVolumeType, created: number): SimRecoveryKey => {
    const key: SimRecoveryKey = {
      id: random.guid(),
      deviceId: device.deviceId,
      volumeType,
      createdDateTime: iso(created),
      key: random.recoveryPassword(),
    };
    recoveryKeys.push(key);
    return key;
  };
  const registeredAt = (d: SimDevice) => Date.parse(d.registrationDateTime);
  const desktopsWithDataDrive = new Set(random.shuffle(devices.filter((d) => d.kind === 'desktop' && !withoutKeysList.includes(d))).slice(0, 18));
  let twoVolumes: SimDevice | undefined;
  const multipleOsKeys = take();
  const removableVolume = take();
  desktopsWithDataDrive.add(nonAscii);
  for (const device of devices) {
    if (withoutKeysList.includes(device)) continue;
    const registered = registeredAt(device);
    if (device === multipleOsKeys) escrow(device, '1', registered + 3_600_000);
    const osKeyAt = device === multipleOsKeys ? reference - random.int(20, 60) * DAY_MS : registered + random.int(10, 90) * 60_000;
    escrow(device, '1', osKeyAt);
    if (desktopsWithDataDrive.has(device)) {
      escrow(device, '2', osKeyAt + random.int(1, 30) * 60_000);
      if (device !== nonAscii && device !== apostrophe && device !== specialCharacters) twoVolumes ??= device;
    }
    if (device === removableVolume) escrow(device, '3', reference - random.int(5, 200) * DAY_MS);
  }
  if (!twoVolumes) throw new Error('the simulated organisation has no device with two volumes');

  // Intune's records of the managed devices.
  const managedDevices: SimManagedDevice[] = [];
  const userById = new Map(users.map((u) => [u.id, u]));
  const enrol = (device: SimDevice, lastSync: number, enrolled: number): void => {
    const primary = device.primaryUserId ? userById.get(device.primaryUserId) : undefined;
    managedDevices.push({
      id: random.guid(),
      azureADDeviceId: device.deviceId,
      deviceName: device.displayName,
      userId: primary?.id ?? '',
      userPrincipalName: primary?.userPrincipalName ?? '',
      userDisplayName: primary?.displayName ?? '',
      emailAddress: primary?.mail ?? '',
      operatingSystem: 'Windows',
      osVersion: device.operatingSystemVersion,
      lastSyncDateTime: iso(lastSync),
      enrolledDateTime: iso(enrolled),
      complianceState: device.isCompliant === false ? 'noncompliant' : 'compliant',
      manufacturer: device.manufacturer,
      model: device.model,
      serialNumber: device.serialNumber,
      isEncrypted: !withoutKeysList.includes(device),
      managedDeviceOwnerType: 'company',
      deviceEnrollmentType: device.trustType === 'ServerAd' ? 'windowsCoManagement' : 'windowsAzureADJoin',
    });
  };
  for (const device of devices) {
    if (!device.isManaged) continue;
    const enrolled = registeredAt(device) + random.int(5, 40) * 60_000;
    if (device === reEnrolled) {
      // The record left behind by the first enrolment; the current one syncs, this one does not.
      const stalePrimary = random.pick(employees);
      const before = managedDevices.length;
      enrol({ ...device, primaryUserId: stalePrimary.id }, reference - 150 * DAY_MS, enrolled);
      managedDevices[before]!.complianceState = 'noncompliant';
      enrol(device, daysAgo(0, 1), reference - 149 * DAY_MS);
      continue;
    }
    enrol(device, daysAgo(0, 3), enrolled);
  }

  // The leaver cases are drawn after everything else, so every earlier ID, name and password stays as it was.
  const withKeyAndRecord = (device: SimDevice): SimDevice => {
    escrow(device, '1', registeredAt(device) + random.int(10, 90) * 60_000);
    enrol(device, daysAgo(0, 3), registeredAt(device) + random.int(5, 40) * 60_000);
    return device;
  };
  const [departed, away] = LEAVERS.map(addUser) as [SimUser, SimUser];
  for (const person of [departed, away]) {
    person.accountEnabled = false;
    userById.set(person.id, person);
  }
  const ownerDisabled = withKeyAndRecord(addDevice('laptop', { owner: departed, trustType: 'AzureAd' }));
  // Handed back after its user left: Intune still names them; the colleague who enrolled it is the registered owner.
  const enrolledBy = random.pick(employees.filter((u) => u.accountEnabled && u !== oneil && u !== mueller && u !== diaz));
  const primaryUserDisabled = withKeyAndRecord(addDevice('desktop', { owner: enrolledBy, primaryUser: away, trustType: 'AzureAd' }));

  const notable: SimNotableDevices = {
    typical,
    sharedName: { displayName: sharedName, devices: [reimaged, stale] },
    apostrophe,
    specialCharacters,
    nonAscii,
    twoVolumes,
    removableVolume,
    multipleOsKeys,
    withoutKeys,
    notManaged,
    withoutPrimaryUser,
    primaryUserIsNotOwner,
    hybridWithoutOwner,
    reEnrolled,
    disabled,
    ownerDisabled,
    primaryUserDisabled,
  };
  return directoryOf(tenantId, users, devices, managedDevices, recoveryKeys, notable);
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const list = map.get(key);
    if (list) list.push(item);
    else map.set(key, [item]);
  }
  return map;
}

export function directoryOf(
  tenantId: string,
  users: SimUser[],
  devices: SimDevice[],
  managedDevices: SimManagedDevice[],
  recoveryKeys: SimRecoveryKey[],
  notable: SimNotableDevices,
): SimDirectory {
  const usersById = new Map(users.map((u) => [u.id, u]));
  const usersByUpn = new Map(users.map((u) => [u.userPrincipalName.toLowerCase(), u]));
  const devicesByDeviceId = new Map(devices.map((d) => [d.deviceId, d]));
  const devicesByName = groupBy(devices, (d) => d.displayName);
  const keysByDevice = groupBy(recoveryKeys, (k) => k.deviceId);
  const managedByDevice = groupBy(managedDevices, (m) => m.azureADDeviceId);
  return {
    tenantId,
    domain: TENANT_DOMAIN,
    users,
    devices,
    managedDevices,
    recoveryKeys,
    notable,
    user: (id) => usersById.get(id),
    userByUpn: (upn) => usersByUpn.get(upn.toLowerCase()),
    device: (deviceId) => devicesByDeviceId.get(deviceId.toLowerCase()),
    devicesNamed: (displayName) => [...(devicesByName.get(displayName) ?? [])],
    owners: (device) => device.ownerIds.map((id) => usersById.get(id)).filter((u): u is SimUser => u !== undefined),
    primaryUser: (device) => (device.primaryUserId ? usersById.get(device.primaryUserId) : undefined),
    keysOf: (deviceId) => [...(keysByDevice.get(deviceId.toLowerCase()) ?? [])],
    managedRecordsOf: (deviceId) => [...(managedByDevice.get(deviceId.toLowerCase()) ?? [])],
  };
}
