import { describe, expect, it, onTestFinished } from 'vitest';
import { randomUUID } from 'node:crypto';
import { auditEntry } from '../../src/audit/entry.js';
import type { AuditTrail } from '../../src/audit/types.js';
import { loadConfig } from '../../src/config/config.js';
import { createSelfService } from '../../src/disclosure/self-service.js';
import type { Employee, EmployeeDirectory } from '../../src/graph/employee-directory.js';
import { problemOf } from '../helpers/problems.js';
import { MINIMAL_ENV } from '../helpers/config.js';
import { Clock } from '../alerts/alert-kit.js';
import { openPostgresStore } from './store-kit.js';
import { testDatabase } from './audit-tools-kit.js';

/**
 * SELF_SERVICE_DISCLOSURES_PER_DAY is counted from the audit trail: with AUDIT_STORE=postgres two
 * instances behind a load balancer count the same granted keys, so an employee does not get the
 * limit once per instance.
 */

const employee: Employee = { id: randomUUID(), userPrincipalName: 'ann.lee@contoso.com', displayName: 'Ann Lee', accountEnabled: true, userType: 'Member' };
const directory: EmployeeDirectory = { getEmployee: async () => employee, isMemberOf: async () => true, devicesOf: async () => [] };

function granted(oid: string, door: 'self_service' | 'web' = 'self_service') {
  return auditEntry({ action: 'disclosure', outcome: 'granted', code: null, door, disclosureId: randomUUID(), caller: { kind: 'user', appId: null, oid, upn: 'ann.lee@contoso.com', name: 'Ann Lee', ip: null, userAgent: null }, requesterUpn: 'ann.lee@contoso.com', reason: 'forgotten_pin' });
}

describe('the self-service daily limit on PostgreSQL', () => {
  it("counts every instance's granted self-service keys of the employee in the last 24 hours, and only those", async () => {
    const database = await testDatabase();
    const clock = new Clock(Date.parse('2026-11-25T10:00:00Z'));
    const [a, b] = (await Promise.all([openPostgresStore(database.url, { clock: clock.date }), openPostgresStore(database.url, { clock: clock.date })])) as [AuditTrail, AuditTrail];
    onTestFinished(() => Promise.all([a.close(), b.close()]).then(() => undefined));
    const config = loadConfig({ ...MINIMAL_ENV, PUBLIC_BASE_URL: 'http://127.0.0.1:8080', SESSION_SECRET: 'x'.repeat(32), SELF_SERVICE: 'on', SELF_SERVICE_DISCLOSURES_PER_DAY: '2' }).selfService;
    const onB = createSelfService({ employees: directory, audit: b, config, now: clock.now });

    await a.append(granted(employee.id));
    clock.advance(23 * 60);
    // Another person's key and the helpdesk's reveal for this employee do not count.
    await a.append(granted(randomUUID()));
    await a.append(granted(employee.id, 'web'));
    expect(await onB.grantedInLastDay(employee.id)).toBe(1);
    await onB.checkDailyLimit(employee.id);

    await a.append(granted(employee.id));
    const problem = await problemOf(onB.checkDailyLimit(employee.id));
    expect(problem).toMatchObject({ status: 429, code: 'self_service_limit_reached' });
    expect(problem.detail).toContain('Call your IT helpdesk');

    // The first key is more than 24 hours old: one left again.
    clock.advance(61);
    expect(await onB.grantedInLastDay(employee.id)).toBe(1);
  });
});
