import { describe, expect, it } from 'vitest';
import { parseDisclosureInput, trustedInput } from '../../src/disclosure/input.js';
import { problemOf } from '../helpers/problems.js';

/** The one input contract both doors share: what it accepts, and how it says what is wrong. */

const valid = { deviceName: 'LAPTOP-ANN', keyId: '1A2B3C4D', ticket: 'INC0012345', reason: 'forgotten_pin', requesterUpn: 'ann@contoso.com' };

async function errorsOf(raw: unknown) {
  const problem = await problemOf(Promise.resolve().then(() => parseDisclosureInput(raw, 'body')));
  expect(problem.code).toBe('invalid_request');
  return problem.extensions.errors as { location: string; path: string; message: string }[];
}

describe('the disclosure input contract', () => {
  it('accepts a device by name or by device ID', () => {
    expect(parseDisclosureInput(valid, 'body')).toEqual(valid);
    const byId = { ...valid, deviceName: undefined, deviceId: '6d2e5c8f-3b1a-4f6e-9c2d-1a2b3c4d5e6f' };
    delete byId.deviceName;
    expect(parseDisclosureInput(byId, 'form').deviceId).toBe(byId.deviceId);
  });

  it('takes at most one of deviceName and deviceId, and neither (the key ID alone)', async () => {
    const { deviceName: _drop, ...neither } = valid;
    expect(parseDisclosureInput(neither, 'body')).toEqual(neither);
    expect(await errorsOf({ ...valid, deviceId: '6d2e5c8f-3b1a-4f6e-9c2d-1a2b3c4d5e6f' })).toContainEqual({ location: 'body', path: '/', message: 'may name at most one of deviceName or deviceId' });
  });

  it('names an unknown property and suggests the closest known one', async () => {
    expect(await errorsOf({ ...valid, requesterUPN: 'x@y.z' })).toContainEqual({ location: 'body', path: '/requesterUPN', message: 'is not a known property; did you mean "requesterUpn"?' });
    const far = await errorsOf({ ...valid, colour: 'blue' });
    expect(far[0]!.message).toMatch(/^is not a known property; known properties are deviceName, deviceId, keyId/);
  });

  it('lists the allowed reasons rather than a schema fragment', async () => {
    expect(await errorsOf({ ...valid, reason: 'lost' })).toEqual([
      { location: 'body', path: '/reason', message: 'must be one of: forgotten_pin, tpm_or_firmware_change, boot_configuration_change, hardware_change, os_update, other' },
    ]);
  });

  it('describes a malformed key ID, device ID or UPN in words, never with the regular expression', async () => {
    const errors = await errorsOf({ ...valid, keyId: 'XYZ-not-hex', requesterUpn: 'ann at contoso' });
    expect(errors.map((e) => e.path).sort()).toEqual(['/keyId', '/requesterUpn']);
    for (const error of errors) expect(error.message).not.toMatch(/[\^$\\[\]{}]/);
    expect(errors.find((e) => e.path === '/keyId')!.message).toContain('first 8 hexadecimal digits');
  });

  it('refuses lone UTF-16 surrogates and control characters, which Graph queries cannot carry', async () => {
    expect((await errorsOf({ ...valid, deviceName: 'LAPTOP-\ud800' }))[0]!.path).toBe('/deviceName');
    expect((await errorsOf({ ...valid, requesterUpn: 'ann\u0000@contoso.com' }))[0]!.path).toBe('/requesterUpn');
  });

  it('says which required member is missing', async () => {
    const { ticket: _drop, ...noTicket } = valid;
    expect(await errorsOf(noTicket)).toEqual([{ location: 'body', path: '/ticket', message: 'is required' }]);
  });

  it('keeps an unvalidated input for the record only when it would have passed', () => {
    expect(trustedInput(valid)).toEqual(valid);
    expect(trustedInput({ ...valid, ticket: 7 })).toBeNull();
    expect(trustedInput('not an object')).toBeNull();
  });
});
