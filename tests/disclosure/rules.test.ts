import { describe, expect, it } from 'vitest';
import { DEFAULT_TICKET_PATTERN } from '../../src/config/config.js';
import {
  checkDeviceEnabled,
  checkReason,
  checkRequester,
  checkRequesterEnabled,
  checkTicket,
  matchKeyId,
  pickDevice,
} from '../../src/disclosure/rules.js';
import { device, recoveryKey, user } from '../helpers/fakes.js';
import { problemCodeOf } from '../helpers/problems.js';


describe('ticket and reason', () => {
  const pattern = new RegExp(DEFAULT_TICKET_PATTERN);

  it.each(['INC0012345', 'SD-1234', '12345', 'RITM0010001', 'CS-42'])('accepts the usual ticket form %s', (ticket) => {
    expect(problemCodeOf(() => checkTicket(ticket, pattern))).toBeUndefined();
  });

  it.each(['', 'see above', 'INC 123', "INC1'; DROP", '-12', 'inc0012345x', '1'.repeat(13)])('refuses the ticket %j', (ticket) => {
    expect(problemCodeOf(() => checkTicket(ticket, pattern))).toBe('invalid_ticket');
  });

  it('honours a custom TICKET_PATTERN', () => {
    const custom = /^HD-\d{6}$/;
    expect(problemCodeOf(() => checkTicket('HD-123456', custom))).toBeUndefined();
    expect(problemCodeOf(() => checkTicket('INC0012345', custom))).toBe('invalid_ticket');
  });

  it('requires a comment when the reason is "other"', () => {
    expect(problemCodeOf(() => checkReason('other', undefined))).toBe('comment_required');
    expect(problemCodeOf(() => checkReason('other', '   '))).toBe('comment_required');
    expect(problemCodeOf(() => checkReason('other', 'Motherboard replaced by vendor'))).toBeUndefined();
    expect(problemCodeOf(() => checkReason('forgotten_pin', undefined))).toBeUndefined();
  });
});

describe('resolving the device', () => {
  it('refuses when no device has the name', () => {
    expect(problemCodeOf(() => pickDevice([], { deviceName: 'NOPE' }))).toBe('device_not_found');
  });

  it('lists every candidate with its owners when the name is shared', () => {
    const a = device({ displayName: 'LAPTOP-SHARED', registeredOwners: [{ id: '1', userPrincipalName: 'ann@contoso.com' }] });
    const b = device({ displayName: 'LAPTOP-SHARED', operatingSystemVersion: '10.0.19045.5011' });
    let problem: { code: string; extensions: { candidates: unknown[] } } | undefined;
    try {
      pickDevice([a, b], { deviceName: 'LAPTOP-SHARED' });
    } catch (error) {
      problem = error as typeof problem;
    }
    expect(problem?.code).toBe('ambiguous_device');
    expect(problem?.extensions.candidates).toEqual([
      expect.objectContaining({ deviceId: a.deviceId, operatingSystem: 'Windows', approximateLastSignInDateTime: a.approximateLastSignInDateTime, owners: ['ann@contoso.com'] }),
      expect.objectContaining({ deviceId: b.deviceId, operatingSystemVersion: '10.0.19045.5011', owners: [] }),
    ]);
  });
});

describe('matching the key ID read off the recovery screen', () => {
  const pc = device({ displayName: 'LAPTOP-ANN' });
  const os = recoveryKey(pc.deviceId, { id: '1a2b3c4d-1111-4aaa-8bbb-0123456789ab' });
  const data = recoveryKey(pc.deviceId, { id: '9f8e7d6c-2222-4ccc-9ddd-ba9876543210', volumeType: 'fixedDataVolume' });

  it('matches the first 8 hex digits, ignoring case', () => {
    expect(matchKeyId([os, data], '1A2B3C4D', pc).id).toBe(os.id);
  });

  it('matches the whole key ID with or without hyphens', () => {
    expect(matchKeyId([os, data], data.id.toUpperCase(), pc).id).toBe(data.id);
    expect(matchKeyId([os, data], data.id.replaceAll('-', ''), pc).id).toBe(data.id);
    expect(matchKeyId([os, data], '9F8E7D6C-2222', pc).id).toBe(data.id);
  });

  it('refuses a key ID that matches no key of the device', () => {
    expect(problemCodeOf(() => matchKeyId([os, data], '1a2b3c4e', pc))).toBe('key_id_mismatch');
  });

  it('asks for more digits when the prefix fits two keys', () => {
    const twin = recoveryKey(pc.deviceId, { id: '1a2b3c4d-9999-4aaa-8bbb-0123456789ab' });
    expect(problemCodeOf(() => matchKeyId([os, twin], '1a2b3c4d', pc))).toBe('ambiguous_key_id');
    expect(matchKeyId([os, twin], '1a2b3c4d9999', pc).id).toBe(twin.id);
  });

  it('says there is no key when the device has none escrowed', () => {
    expect(problemCodeOf(() => matchKeyId([], '1a2b3c4d', pc))).toBe('key_not_found');
  });
});

describe('checking the requester', () => {
  const pc = device({
    displayName: 'LAPTOP-ANN',
    registeredOwners: [{ id: 'u1', userPrincipalName: 'Ann.Lee@contoso.com', displayName: 'Ann Lee' }],
  });
  const intune = { managedDeviceId: 'm1', deviceName: 'LAPTOP-ANN', primaryUserUpn: 'bob@contoso.com', primaryUserId: 'u2', lastSyncDateTime: null };

  it('accepts a registered owner, whatever the case of the UPN', () => {
    expect(checkRequester(pc, null, 'ann.lee@CONTOSO.com', 'enforce')).toMatchObject({ verdict: 'passed', matchedAs: 'registered_owner' });
  });

  it('accepts the Intune primary user', () => {
    expect(checkRequester(pc, intune, 'bob@contoso.com', 'enforce')).toMatchObject({ verdict: 'passed', matchedAs: 'primary_user' });
  });

  it('refuses anybody else when enforcing', () => {
    expect(problemCodeOf(() => checkRequester(pc, intune, 'mallory@contoso.com', 'enforce'))).toBe('requester_not_owner');
  });

  it('lets a mismatch through with a warning in warn mode', () => {
    const result = checkRequester(pc, intune, 'mallory@contoso.com', 'warn');
    expect(result).toMatchObject({ verdict: 'warned', matchedAs: null, warning: { code: 'requester_not_owner' } });
    expect(result.warning?.detail).toContain('mallory@contoso.com');
  });

  it('skips the check when it is off', () => {
    expect(checkRequester(pc, intune, 'mallory@contoso.com', 'off')).toEqual({ verdict: 'skipped', matchedAs: null, warning: null });
  });

  it('cannot match owners whose UPN Graph withheld (no User.Read.All)', () => {
    const withheld = device({ displayName: 'LAPTOP-X', registeredOwners: [{ id: 'u1' }] });
    expect(problemCodeOf(() => checkRequester(withheld, null, 'ann.lee@contoso.com', 'enforce'))).toBe('requester_not_owner');
  });
});

describe('disabled accounts', () => {
  const pc = device({ displayName: 'LAPTOP-ANN', registeredOwners: [{ id: 'u1', userPrincipalName: 'ann@contoso.com' }] });

  it('passes an enabled device, refuses a disabled one, and only warns about it in warn mode', () => {
    expect(checkDeviceEnabled(pc, 'enforce')).toEqual({ verdict: 'passed', warning: null });
    const stolen = { ...pc, accountEnabled: false };
    expect(problemCodeOf(() => checkDeviceEnabled(stolen, 'enforce'))).toBe('device_disabled');
    expect(checkDeviceEnabled(stolen, 'warn')).toMatchObject({ verdict: 'warned', warning: { code: 'device_disabled' } });
  });

  it('cannot tell when Graph did not say, and lets the device through as skipped', () => {
    expect(checkDeviceEnabled({ ...pc, accountEnabled: null }, 'enforce')).toEqual({ verdict: 'skipped', warning: null });
  });

  it('refuses a requester whose account is disabled, or warns in warn mode', () => {
    const leaver = user('ann@contoso.com', { accountEnabled: false });
    expect(problemCodeOf(() => checkRequesterEnabled(leaver, pc, 'enforce'))).toBe('requester_disabled');
    expect(checkRequesterEnabled(leaver, pc, 'warn')).toMatchObject({ verdict: 'warned', warning: { code: 'requester_disabled' } });
    expect(checkRequesterEnabled(user('ann@contoso.com'), pc, 'enforce')).toEqual({ verdict: 'passed', warning: null });
  });

  it('skips the account check only for a requester the directory does not know', () => {
    expect(checkRequesterEnabled(null, pc, 'enforce').verdict).toBe('skipped');
    expect(checkRequesterEnabled(user('x@contoso.com', { accountEnabled: null }), pc, 'enforce').verdict).toBe('skipped');
  });
});
