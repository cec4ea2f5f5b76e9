import type { Caller, GraphAuthorization } from './graph-auth.js';
import type { Listing } from './graph-listing.js';
import { parseSelect, parseTop } from './graph-query.js';
import { pick, type Json } from './graph-resources.js';
import { USER_READ } from './graph-users.js';
import { GraphFailure, type GraphRequest, type Ids } from './graph-wire.js';
import type { SimDevice, SimUser } from './organisation.js';
import type { SimGroup } from './registrations.js';

/**
 * What the directory says about one user beyond the user itself: `GET /users/{id}/ownedDevices`
 * (directory objects, each with its `@odata.type`; Device.Read.All or a directory-wide read) and
 * `POST /users/{id}/checkMemberGroups` (the given group ids the user is a member of, through nested
 * groups too; GroupMember.Read.All or Directory.Read.All with a user-read permission).
 */

const GROUP_READ = ['GroupMember.Read.All', 'Group.Read.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
const DEVICE_READ = ['Device.Read.All', 'Device.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface EmployeeEndpoints {
  ownedDevices(request: GraphRequest, caller: Caller, ids: Ids, user: SimUser): Json;
  checkMemberGroups(request: GraphRequest, caller: Caller, ids: Ids, user: SimUser): Json;
}

export interface EmployeeEndpointOptions {
  devices: readonly SimDevice[];
  deviceJson: (device: SimDevice) => Json;
  deviceProperties: Map<string, string>;
  groups: readonly SimGroup[];
  listing: Listing;
  authorization: GraphAuthorization;
  pageSize: number;
}

/** The groups a user is in, directly or through groups that are members of others. */
export function transitiveGroupsOf(userId: string, groups: readonly SimGroup[]): Set<string> {
  const found = new Set(groups.filter((g) => g.memberIds.includes(userId)).map((g) => g.id));
  for (let grew = true; grew; ) {
    grew = false;
    for (const group of groups) {
      if (!found.has(group.id) && group.memberGroupIds.some((id) => found.has(id))) {
        found.add(group.id);
        grew = true;
      }
    }
  }
  return found;
}

function groupIdsOf(body: string | null): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? '');
  } catch {
    throw new GraphFailure(400, 'Request_BadRequest', 'Invalid JSON in the request body.');
  }
  const groupIds = (parsed as { groupIds?: unknown } | null)?.groupIds;
  if (!Array.isArray(groupIds) || groupIds.length === 0 || groupIds.length > 20 || !groupIds.every((id) => typeof id === 'string' && GUID.test(id))) {
    throw new GraphFailure(400, 'Request_BadRequest', "Invalid value specified for property 'groupIds' of resource 'User'.");
  }
  return groupIds as string[];
}

export function createEmployeeEndpoints(options: EmployeeEndpointOptions): EmployeeEndpoints {
  const { listing, authorization } = options;
  return {
    ownedDevices(request, caller, ids, user) {
      authorization.requirePermission(caller, DEVICE_READ, 'directory', ids, request.path);
      listing.only(request.query, ['$select', '$top', '$skiptoken'], 'directory');
      const selectText = listing.option(request.query, '$select');
      const select = selectText === null ? null : parseSelect(selectText, options.deviceProperties, 'directoryObject', 'directory');
      const top = parseTop(listing.option(request.query, '$top'), 'directory');
      const owned = options.devices.filter((device) => device.ownerIds.includes(user.id));
      return listing.page(request, owned, Math.min(top ?? 100, options.pageSize), 'directory', listing.contextUrl('directoryObjects', select), (device) => ({
        '@odata.type': '#microsoft.graph.device',
        ...pick(options.deviceJson(device), select),
      }));
    },
    checkMemberGroups(request, caller, ids, user) {
      authorization.requirePermission(caller, GROUP_READ, 'directory', ids, request.path);
      authorization.requirePermission(caller, USER_READ, 'directory', ids, request.path);
      const asked = groupIdsOf(request.body);
      const member = transitiveGroupsOf(user.id, options.groups);
      return { '@odata.context': listing.contextUrl('Collection(Edm.String)', null), value: asked.filter((id) => member.has(id.toLowerCase())) };
    },
  };
}
