import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { AuditTrail } from '../../src/audit/types.js';
import type { SelfServiceConfig } from '../../src/config/self-service-config.js';
import { createSelfService } from '../../src/disclosure/self-service.js';
import type { Employee, EmployeeDirectory } from '../../src/graph/employee-directory.js';
import { problemOf } from '../helpers/problems.js';

/** Who may use the self-service door: members, enabled, in SELF_SERVICE_GROUP_ID when set; guests never. */

const GROUP = '5e1f5e1f-0b1c-4d2e-8f3a-000000000001';
const config = (groupId: string | null = null): SelfServiceConfig => ({ enabled: true, groupId, authContext: null, disclosuresPerDay: 3, helpContact: 'the Service Desk on 0100' });
const person = (fields: Partial<Employee> = {}): Employee => ({ id: randomUUID(), userPrincipalName: 'ann.lee@contoso.com', displayName: 'Ann Lee', accountEnabled: true, userType: 'Member', ...fields });

function serviceFor(employee: Employee | null, groups: string[] = []) {
  const asked: string[] = [];
  const employees: EmployeeDirectory = {
    getEmployee: async () => employee,
    isMemberOf: async (_userId, groupId) => {
      asked.push(groupId);
      return groups.includes(groupId);
    },
    devicesOf: async () => [],
  };
  return { asked, service: (groupId: string | null = null) => createSelfService({ employees, audit: {} as AuditTrail, config: config(groupId), now: Date.now }) };
}

describe('who may use self-service', () => {
  it('lets an enabled member in, without asking about a group when none is set', async () => {
    const member = person();
    const { asked, service } = serviceFor(member);
    await expect(service().checkEmployee(member.id)).resolves.toEqual(member);
    expect(asked).toEqual([]);
  });

  it('refuses a guest, a disabled account and an unknown one, saying whom to call', async () => {
    for (const who of [person({ userType: 'Guest' }), person({ userType: null }), null]) {
      const problem = await problemOf(serviceFor(who).service().checkEmployee(randomUUID()));
      expect(problem).toMatchObject({ status: 403, code: 'self_service_not_allowed' });
      expect(problem.detail).toContain('call the Service Desk on 0100');
    }
    // A disabled account gets the code every door gives a disabled requester.
    const disabled = await problemOf(serviceFor(person({ accountEnabled: false })).service().checkEmployee(randomUUID()));
    expect(disabled).toMatchObject({ status: 422, code: 'requester_disabled' });
    expect(disabled.detail).toContain('call the Service Desk on 0100');
  });

  it('asks Graph about SELF_SERVICE_GROUP_ID when it is set, and refuses a non-member', async () => {
    const member = person();
    const inGroup = serviceFor(member, [GROUP]);
    await expect(inGroup.service(GROUP).checkEmployee(member.id)).resolves.toEqual(member);
    expect(inGroup.asked).toEqual([GROUP]);
    await expect(problemOf(serviceFor(member).service(GROUP).checkEmployee(member.id))).resolves.toMatchObject({ code: 'self_service_not_allowed' });
  });
});
