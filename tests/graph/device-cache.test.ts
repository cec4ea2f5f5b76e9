import { describe, expect, it } from 'vitest';
import { withDeviceCache } from '../../src/graph/device-cache.js';
import { KeyDeskProblem } from '../../src/problem/problem.js';
import { FakeGraph, device, recoveryKey, user } from '../helpers/fakes.js';
import { fakeRecoveryPassword } from '../helpers/recovery-password.js';

function setup(ttlMs = 30_000) {
  let clock = 1_000_000;
  const laptop = device({ displayName: 'LAPTOP-ANN' });
  const key = recoveryKey(laptop.deviceId);
  const graph = new FakeGraph({
    devices: [laptop],
    intune: { [laptop.deviceId]: { managedDeviceId: 'm', deviceName: 'LAPTOP-ANN', primaryUserUpn: 'ann@contoso.com', primaryUserId: 'u', lastSyncDateTime: null } },
    keys: [key],
    passwords: { [key.id]: fakeRecoveryPassword() },
  });
  const cached = withDeviceCache(graph, { ttlMs, now: () => clock });
  return { graph, cached, laptop, key, advance: (ms: number) => (clock += ms) };
}

describe('device resolution cache', () => {
  it('answers repeated device look-ups from memory until the TTL passes', async () => {
    const { graph, cached, laptop, advance } = setup();
    await cached.findDevicesByName('LAPTOP-ANN');
    await cached.findDevicesByName('LAPTOP-ANN');
    await cached.getDevice(laptop.deviceId);
    await cached.getDevice(laptop.deviceId.toUpperCase());
    await cached.getIntuneRecord(laptop.deviceId);
    await cached.getIntuneRecord(laptop.deviceId);
    expect(graph.calls).toEqual(['findDevicesByName LAPTOP-ANN', `getDevice ${laptop.deviceId}`, `getIntuneRecord ${laptop.deviceId}`]);
    advance(30_001);
    await cached.findDevicesByName('LAPTOP-ANN');
    expect(graph.calls.filter((c) => c.startsWith('findDevicesByName'))).toHaveLength(2);
  });

  it('keeps key metadata with the device, but reads every recovery password from Graph', async () => {
    const { graph, cached, laptop, key, advance } = setup();
    for (let i = 0; i < 2; i += 1) {
      const keys = await cached.listRecoveryKeys(laptop.deviceId);
      expect(keys.map((k) => k.id)).toEqual([key.id]);
      expect(JSON.stringify(keys)).not.toMatch(/\d{6}-\d{6}/);
      await cached.readRecoveryPassword(key.id, 'c0ffee00-0000-4000-8000-000000000000');
    }
    expect(graph.calls.filter((c) => c.startsWith('listRecoveryKeys'))).toHaveLength(1);
    expect(graph.calls.filter((c) => c.startsWith('readRecoveryPassword'))).toHaveLength(2);
    advance(30_001);
    await cached.listRecoveryKeys(laptop.deviceId);
    expect(graph.calls.filter((c) => c.startsWith('listRecoveryKeys'))).toHaveLength(2);
  });

  it('asks Graph for a fresh key list when told to, and keeps that answer for the next caller', async () => {
    const { graph, cached, laptop, key } = setup();
    await cached.listRecoveryKeys(laptop.deviceId);
    const rotated = recoveryKey(laptop.deviceId);
    graph.directory.keys.push(rotated);
    expect((await cached.listRecoveryKeys(laptop.deviceId)).map((k) => k.id)).toEqual([key.id]);
    expect((await cached.listRecoveryKeys(laptop.deviceId, undefined, { fresh: true })).map((k) => k.id)).toEqual([key.id, rotated.id]);
    expect((await cached.listRecoveryKeys(laptop.deviceId)).map((k) => k.id)).toEqual([key.id, rotated.id]);
    expect(graph.calls.filter((c) => c.startsWith('listRecoveryKeys'))).toHaveLength(2);
  });

  it('forgets everything it holds of a device it is told is stale, including name look-ups that found it', async () => {
    const { graph, cached, laptop } = setup();
    const warm = () => Promise.all([cached.findDevicesByName('LAPTOP-ANN'), cached.getDevice(laptop.deviceId), cached.getIntuneRecord(laptop.deviceId), cached.listRecoveryKeys(laptop.deviceId)]);
    await warm();
    expect(graph.calls).toHaveLength(4);
    cached.forgetDevice?.(laptop.deviceId.toUpperCase());
    await new Promise((resolve) => setImmediate(resolve));
    await warm();
    expect(graph.calls).toHaveLength(8);
  });

  it('shares one Graph request between concurrent look-ups of the same device', async () => {
    const { graph, cached } = setup();
    await Promise.all(Array.from({ length: 20 }, () => cached.findDevicesByName('LAPTOP-ANN')));
    expect(graph.calls).toEqual(['findDevicesByName LAPTOP-ANN']);
  });

  it('does not remember that a device was missing, nor a failure', async () => {
    const { graph, cached } = setup();
    await cached.findDevicesByName('LAPTOP-NEW');
    graph.directory.devices.push(device({ displayName: 'LAPTOP-NEW' }));
    expect((await cached.findDevicesByName('LAPTOP-NEW')).devices).toHaveLength(1);

    graph.failWith = new KeyDeskProblem('graph_unavailable', 'down');
    await expect(cached.findDevicesByName('LAPTOP-OTHER')).rejects.toMatchObject({ code: 'graph_unavailable' });
    graph.failWith = null;
    await expect(cached.findDevicesByName('LAPTOP-OTHER')).resolves.toMatchObject({ devices: [] });
  });

  it('is off with a TTL of 0', async () => {
    const { graph, cached } = setup(0);
    await cached.findDevicesByName('LAPTOP-ANN');
    await cached.findDevicesByName('LAPTOP-ANN');
    expect(graph.calls).toHaveLength(2);
  });
});

describe('device resolution cache bounds', () => {
  it('remembers at most maxEntries answers of a kind, forgetting the oldest first', async () => {
    const devices = ['PC-1', 'PC-2', 'PC-3'].map((name) => device({ displayName: name }));
    const graph = new FakeGraph({ devices, intune: {}, keys: [], passwords: {} });
    const cached = withDeviceCache(graph, { ttlMs: 60_000, maxEntries: 2, now: () => 0 });
    for (const name of ['PC-1', 'PC-2', 'PC-3', 'PC-3', 'PC-1']) await cached.findDevicesByName(name);
    expect(graph.calls).toEqual(['findDevicesByName PC-1', 'findDevicesByName PC-2', 'findDevicesByName PC-3', 'findDevicesByName PC-1']);
  });

  it("remembers a requester's account, but not one the directory does not know", async () => {
    const graph = new FakeGraph({ devices: [], users: [user('ann@contoso.com')], intune: {}, keys: [], passwords: {} });
    const cached = withDeviceCache(graph, { ttlMs: 60_000, now: () => 0 });
    await cached.findUserByUpn('ann@contoso.com');
    await cached.findUserByUpn('ANN@contoso.com');
    await cached.findUserByUpn('nobody@contoso.com');
    await cached.findUserByUpn('nobody@contoso.com');
    expect(graph.calls).toEqual(['findUserByUpn ann@contoso.com', 'findUserByUpn nobody@contoso.com', 'findUserByUpn nobody@contoso.com']);
  });
});
