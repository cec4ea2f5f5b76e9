import type { AuditTrail } from '../audit/types.js';
import type { SelfServiceConfig } from '../config/self-service-config.js';
import type { Employee, EmployeeDirectory } from '../graph/employee-directory.js';
import { GRAPH_REQUESTS_PER_REQUEST, GraphBudget } from '../graph/request-budget.js';
import type { Device } from '../graph/types.js';
import { KeyDeskProblem } from '../problem/problem.js';

/**
 * The self-service door's own questions, before an attempt goes to the one intake: may this
 * signed-in person use the door at all (a member of the tenant, not a guest, enabled, in
 * SELF_SERVICE_GROUP_ID when it is set), which devices are theirs, and have they reached
 * SELF_SERVICE_DISCLOSURES_PER_DAY. The disclosure itself, its rules and its records are the
 * intake's (src/disclosure/service.ts), as for every door.
 */

const DAY_MS = 86_400_000;

export interface SelfServiceDeps {
  employees: EmployeeDirectory;
  audit: AuditTrail;
  config: SelfServiceConfig;
  now: () => number;
}

function notAllowed(why: string, config: SelfServiceConfig): KeyDeskProblem {
  return new KeyDeskProblem('self_service_not_allowed', `${why} To get a recovery key, call ${config.helpContact}.`);
}

export function createSelfService(deps: SelfServiceDeps) {
  const { employees, config } = deps;
  return {
    /** The signed-in person as the directory knows them, if the door is open to them; else `self_service_not_allowed`. */
    async checkEmployee(userId: string): Promise<Employee> {
      const budget = new GraphBudget(GRAPH_REQUESTS_PER_REQUEST);
      const employee = await employees.getEmployee(userId, budget);
      if (!employee) throw notAllowed('Your account is not in the directory KeyDesk serves.', config);
      // A guest (B2B) account is someone else's employee: never theirs to unlock here.
      if (employee.userType?.toLowerCase() !== 'member') throw notAllowed('Self-service is for members of the organisation, and your account is a guest account.', config);
      // The code every door gives a disabled requester: here the requester is the employee.
      if (employee.accountEnabled === false) throw new KeyDeskProblem('requester_disabled', `Your account is disabled in Entra ID. To get a recovery key, call ${config.helpContact}.`);
      if (config.groupId !== null && !(await employees.isMemberOf(employee.id, config.groupId, budget))) {
        throw notAllowed('Self-service is open to the members of one group, and your account is not among them.', config);
      }
      return employee;
    },

    /** The employee's devices (registered owner or Intune primary user), by name. */
    async devicesOf(employee: Employee): Promise<Device[]> {
      const devices = await employees.devicesOf(employee.id, new GraphBudget(GRAPH_REQUESTS_PER_REQUEST));
      return devices.sort((a, b) => a.displayName.localeCompare(b.displayName));
    },

    /**
     * Counted from the audit trail, so the limit holds across instances wherever the trail is
     * shared (PostgreSQL) and survives restarts: granted self-service disclosures of this
     * employee in the last 24 hours.
     */
    async grantedInLastDay(userId: string): Promise<number> {
      const from = new Date(deps.now() - DAY_MS).toISOString();
      const page = await deps.audit.query({ door: 'self_service', action: 'disclosure', outcome: 'granted', caller: userId, from }, { limit: config.disclosuresPerDay });
      return page.records.length;
    },

    /** `self_service_limit_reached` once the employee had SELF_SERVICE_DISCLOSURES_PER_DAY keys in 24 hours. */
    async checkDailyLimit(userId: string): Promise<void> {
      if ((await this.grantedInLastDay(userId)) < config.disclosuresPerDay) return;
      throw new KeyDeskProblem(
        'self_service_limit_reached',
        `You have had ${config.disclosuresPerDay} recovery ${config.disclosuresPerDay === 1 ? 'key' : 'keys'} through self-service in the last 24 hours, the most one person may. Call ${config.helpContact}: they can give you the key after checking who you are.`,
      );
    },
  };
}

export type SelfService = ReturnType<typeof createSelfService>;
