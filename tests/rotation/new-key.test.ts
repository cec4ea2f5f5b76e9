import { describe, expect, it } from 'vitest';
import { keysBefore, newKeyOf } from '../../src/rotation/new-key.js';
import type { RecoveryKeyMetadata } from '../../src/graph/types.js';

/** When a rotation is done: a key not seen before, for the same volume, created later than the disclosed one. */

const key = (id: string, createdDateTime: string, volumeType: RecoveryKeyMetadata['volumeType'] = 'operatingSystemVolume'): RecoveryKeyMetadata => ({ id, deviceId: 'dev', volumeType, createdDateTime });
const rotation = { oldRecoveryKeyId: 'old', knownKeyIds: ['old', 'data'], oldVolumeType: 'operatingSystemVolume' as const, oldCreatedDateTime: '2026-01-11T10:00:00Z' };

describe('the new key of a rotation', () => {
  it('finds a key not seen before, for the same volume, created after the disclosed key', () => {
    expect(newKeyOf(rotation, [key('old', '2026-01-11T10:00:00Z'), key('new', '2026-12-02T09:05:00Z')])?.id).toBe('new');
  });

  it('does not count a key it saw before, a key of another volume, or an older key', () => {
    const keys = [key('old', '2026-01-11T10:00:00Z'), key('data', '2026-12-02T09:05:00Z'), key('usb', '2026-12-02T09:05:00Z', 'removableDataVolume'), key('restored', '2025-12-01T00:00:00Z')];
    expect(newKeyOf(rotation, keys)).toBeNull();
  });

  it('takes the newest of several new keys', () => {
    expect(newKeyOf(rotation, [key('a', '2026-12-02T09:05:00Z'), key('b', '2026-12-03T09:05:00Z')])?.id).toBe('b');
  });

  it('leaves a key Windows escrowed after the disclosure out of the keys seen before, so its own rotation counts', () => {
    const listed = [key('old', '2026-01-11T10:00:00Z'), key('windows', '2026-12-02T09:01:00Z')];
    const known = keysBefore(listed, '2026-12-02T09:00:00.000Z');
    expect(known).toEqual(['old']);
    expect(newKeyOf({ ...rotation, knownKeyIds: known }, listed)?.id).toBe('windows');
  });
});
