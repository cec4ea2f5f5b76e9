import { expect } from 'vitest';
import type { SimulatedTenant } from '../../simulator/index.js';
import { SimulatedBrowser } from '../../simulator/browser.js';
import type { SimDevice } from '../../simulator/organisation.js';
import type { SimStaffMember } from '../../simulator/registrations.js';
import { buildHarness, type Harness } from '../helpers/app-harness.js';
import { WebClient, pathOf } from '../web/web-client.js';

/** KeyDesk instances behind one imaginary load balancer, sharing one Redis, and a browser that visits any of them. */

export const BASE_URL = 'http://127.0.0.1:8080';
export const SESSION_SECRET = 'a-test-session-secret-of-more-than-32-characters';

export function buildInstance(name: string, tenant: SimulatedTenant, redis: { url: string; keyPrefix: string }, env: Record<string, string> = {}): Promise<Harness> {
  return buildHarness(name, {
    env: { ...tenant.keydeskEnvironment(), PUBLIC_BASE_URL: BASE_URL, SESSION_SECRET, SESSION_IDLE_MINUTES: '60', REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.keyPrefix, ...env },
  });
}

/** The same browser (its cookies) sent to another instance. */
export function sameBrowserOn(client: WebClient, harness: Harness): WebClient {
  const other = new WebClient(harness);
  for (const [name, value] of client.cookies) other.cookies.set(name, value);
  return other;
}

export async function signIn(tenant: SimulatedTenant, harness: Harness, staff: SimStaffMember): Promise<WebClient> {
  const client = new WebClient(harness);
  const start = await client.get('/auth/sign-in?returnTo=%2F');
  const entra = await new SimulatedBrowser(tenant.caCertPath).signIn(start.headers.location as string, { upn: staff.upn });
  const callback = await client.get(pathOf(entra.location!));
  expect(callback.statusCode).toBe(302);
  return client;
}

const hidden = (body: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(body)![1]!;

export async function openForm(client: WebClient, device: SimDevice): Promise<{ _csrf: string; formToken: string }> {
  const page = await client.get(`/devices/${device.deviceId}`);
  expect(page.statusCode).toBe(200);
  return { _csrf: hidden(page.body, '_csrf'), formToken: hidden(page.body, 'formToken') };
}

export function revealFields(tenant: SimulatedTenant, device: SimDevice, overrides: Record<string, string> = {}): Record<string, string> {
  const key = tenant.directory.recoveryKeys.find((k) => k.deviceId === device.deviceId)!;
  const requester = tenant.directory.owners(device)[0]!.userPrincipalName;
  return { keyId: key.id.slice(0, 8).toUpperCase(), requester, ticket: 'INC0012345', reason: 'forgotten_pin', comment: '', ...overrides };
}
