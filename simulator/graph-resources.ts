import type { SimDevice, SimManagedDevice, SimRecoveryKey, SimUser } from './organisation.js';

/**
 * The seeded objects in the JSON shapes Graph v1.0 returns them: devices and users as the
 * directory does (its default property set), managed devices as Intune does ("" and
 * 0001-01-01 for what it never had), recovery keys as the BitLocker API does (numeric-string
 * volumeType, `key` only when asked for). Built once; requests only pick properties.
 */

export type Json = Record<string, unknown>;

export function propertyMap(sample: Json, extra: string[] = []): Map<string, string> {
  return new Map([...Object.keys(sample), ...extra].filter((k) => !k.startsWith('@')).map((k) => [k.toLowerCase(), k]));
}

const NEVER = '0001-01-01T00:00:00Z';

export function deviceJson(device: SimDevice): Json {
  const hybrid = device.trustType === 'ServerAd';
  return {
    id: device.id,
    deletedDateTime: null,
    accountEnabled: device.accountEnabled,
    approximateLastSignInDateTime: device.approximateLastSignInDateTime,
    complianceExpirationDateTime: null,
    createdDateTime: device.registrationDateTime,
    deviceCategory: null,
    deviceId: device.deviceId,
    deviceMetadata: null,
    deviceOwnership: 'Company',
    deviceVersion: 2,
    displayName: device.displayName,
    domainName: hybrid ? 'corp.contoso.example' : null,
    enrollmentProfileName: null,
    enrollmentType: hybrid ? 'OnPremiseCoManaged' : 'AzureDomainJoined',
    externalSourceName: null,
    isCompliant: device.isCompliant,
    isManaged: device.isManaged,
    isRooted: false,
    managementType: device.isManaged ? 'MDM' : null,
    manufacturer: device.manufacturer,
    mdmAppId: device.isManaged ? '0000000a-0000-0000-c000-000000000000' : null,
    model: device.model,
    onPremisesLastSyncDateTime: hybrid ? device.approximateLastSignInDateTime : null,
    onPremisesSyncEnabled: hybrid ? true : null,
    operatingSystem: device.operatingSystem,
    operatingSystemVersion: device.operatingSystemVersion,
    physicalIds: [],
    profileType: 'RegisteredDevice',
    registrationDateTime: device.registrationDateTime,
    sourceType: null,
    systemLabels: [],
    trustType: device.trustType,
    extensionAttributes: Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`extensionAttribute${i + 1}`, null])),
  };
}

/** A user as a directory object in a collection of them (owners): it says its type. */
export function userJson(user: SimUser): Json {
  return {
    '@odata.type': '#microsoft.graph.user',
    id: user.id,
    businessPhones: [],
    displayName: user.displayName,
    givenName: user.givenName,
    jobTitle: user.jobTitle,
    mail: user.mail,
    mobilePhone: null,
    officeLocation: user.officeLocation,
    preferredLanguage: user.preferredLanguage,
    surname: user.surname,
    userPrincipalName: user.userPrincipalName,
  };
}

/** Selectable on a user beyond its default set. */
export const USER_EXTRA_PROPERTIES = ['accountEnabled', 'department', 'employeeId', 'companyName', 'usageLocation', 'userType'];

export function userExtra(user: SimUser): Json {
  return { accountEnabled: user.accountEnabled, department: user.department, employeeId: null, companyName: 'Contoso', usageLocation: null, userType: user.userType ?? 'Member' };
}

export function managedDeviceJson(record: SimManagedDevice): Json {
  const local = record.userPrincipalName.split('@')[0] ?? '';
  return {
    id: record.id,
    userId: record.userId,
    deviceName: record.deviceName,
    managedDeviceOwnerType: record.managedDeviceOwnerType,
    enrolledDateTime: record.enrolledDateTime,
    lastSyncDateTime: record.lastSyncDateTime,
    operatingSystem: record.operatingSystem,
    complianceState: record.complianceState,
    jailBroken: 'Unknown',
    managementAgent: record.deviceEnrollmentType === 'windowsCoManagement' ? 'configurationManagerClientMdm' : 'mdm',
    osVersion: record.osVersion,
    easActivated: false,
    easDeviceId: '',
    easActivationDateTime: NEVER,
    azureADRegistered: true,
    deviceEnrollmentType: record.deviceEnrollmentType,
    activationLockBypassCode: null,
    emailAddress: record.emailAddress,
    azureADDeviceId: record.azureADDeviceId,
    deviceRegistrationState: 'registered',
    deviceCategoryDisplayName: 'Unknown Category',
    isSupervised: false,
    exchangeLastSuccessfulSyncDateTime: NEVER,
    exchangeAccessState: 'none',
    exchangeAccessStateReason: 'none',
    remoteAssistanceSessionUrl: null,
    remoteAssistanceSessionErrorDetails: null,
    isEncrypted: record.isEncrypted,
    userPrincipalName: record.userPrincipalName,
    model: record.model,
    manufacturer: record.manufacturer,
    imei: '',
    complianceGracePeriodExpirationDateTime: '9999-12-31T23:59:59Z',
    serialNumber: record.serialNumber,
    phoneNumber: '',
    androidSecurityPatchLevel: '',
    userDisplayName: record.userDisplayName,
    wiFiMacAddress: '',
    subscriberCarrier: '',
    meid: '',
    totalStorageSpaceInBytes: 510_770_802_688,
    freeStorageSpaceInBytes: 214_748_364_800,
    managedDeviceName: local === '' ? `Windows_${record.enrolledDateTime.slice(0, 10)}` : `${local}_Windows_${record.enrolledDateTime.slice(0, 10)}`,
    partnerReportedThreatState: 'unknown',
    physicalMemoryInBytes: 0,
    enrollmentProfileName: null,
    notes: null,
    ethernetMacAddress: null,
  };
}

export function recoveryKeyJson(key: SimRecoveryKey): Json {
  return { id: key.id, createdDateTime: key.createdDateTime, volumeType: key.volumeType, deviceId: key.deviceId };
}

export const RECOVERY_KEY_PROPERTIES = new Map(['id', 'createdDateTime', 'volumeType', 'deviceId', 'key'].map((k) => [k.toLowerCase(), k]));

export function pick(source: Json, names: readonly string[] | null): Json {
  if (names === null) return source;
  const out: Json = {};
  if ('@odata.type' in source) out['@odata.type'] = source['@odata.type'];
  for (const name of names) if (name in source) out[name] = source[name];
  return out;
}
