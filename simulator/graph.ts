import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGraphAuthorization, type Caller } from './graph-auth.js';
import { answerBatch } from './graph-batch.js';
import {
  GraphQueryError,
  parseExpand,
  parseFilter,
  parseSelect,
  parseTop,
  type ExpandClause,
  type FilterClause,
  type FilterRules,
} from './graph-query.js';
import {
  RECOVERY_KEY_PROPERTIES,
  USER_EXTRA_PROPERTIES,
  deviceJson,
  managedDeviceJson,
  pick,
  propertyMap,
  recoveryKeyJson,
  userExtra,
  userJson,
  type Json,
} from './graph-resources.js';
import { createListing } from './graph-listing.js';
import { createAuditLogEndpoint, portalReadAnswer } from './graph-audit-log.js';
import { USER_READ, createUserEndpoints } from './graph-users.js';
import { createEmployeeEndpoints } from './graph-employees.js';
import { BodyTooLarge, readBody, send, type SimHandler } from './listener.js';
import type { SimDevice, SimManagedDevice, SimRecoveryKey, SimUser } from './organisation.js';
import { GRAPH_JSON_TYPE, GraphFailure, errorAnswer, logEntry, type GraphAnswer, type GraphRequest, type Ids } from './graph-wire.js';
import { isoSeconds, record, type SimulatorState } from './state.js';
import { NO_CONTENT, createRotationEndpoints } from './graph-rotation.js';

/**
 * The simulated Microsoft Graph v1.0: devices and their owners, Intune's managed devices,
 * BitLocker recovery keys and $batch, answering the way Graph does: the bearer token is verified
 * and each endpoint checks the permission it needs, errors have Graph's body and headers, paging
 * is server-driven, and the knobs (throttling, failures, latency) apply to every request.
 */

/** Graph returns at most 20 objects of an expanded relationship. */
const MAX_EXPANDED = 20;

const DEVICE_READ = ['Device.Read.All', 'Device.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
const INTUNE_READ = ['DeviceManagementManagedDevices.Read.All', 'DeviceManagementManagedDevices.ReadWrite.All'];
const BITLOCKER_BASIC = ['BitlockerKey.ReadBasic.All', 'BitlockerKey.Read.All'];
const BITLOCKER_KEY = ['BitlockerKey.Read.All'];

function header(request: IncomingMessage, name: string): string | null {
  const value = request.headers[name];
  return typeof value === 'string' && value !== '' ? value : null;
}

function lower(text: string): string {
  return text.toLowerCase();
}

export interface GraphHost {
  handler: SimHandler;
}

/** `escrow` is how a device's rotation reaches the directory: the host is built anew on it. */
export function createGraphHost(state: SimulatorState, escrow: (key: SimRecoveryKey) => void = () => undefined): GraphHost {
  const { directory } = state.model;
  const root = state.graphBaseUrl;

  // ---- Indexes, built once --------------------------------------------------------------
  const devices = [...directory.devices].sort((a, b) => a.id.localeCompare(b.id));
  const deviceById = new Map(devices.map((d) => [d.id, d]));
  const deviceByDeviceId = new Map(devices.map((d) => [d.deviceId, d]));
  const devicesByName = new Map<string, SimDevice[]>();
  for (const device of devices) {
    // Entra compares strings without regard to case.
    const key = lower(device.displayName);
    devicesByName.set(key, [...(devicesByName.get(key) ?? []), device]);
  }
  const lowerNames = devices.map((d) => lower(d.displayName));
  const deviceJsonById = new Map(devices.map((d) => [d.id, deviceJson(d)]));
  const users = new Map(directory.users.map((u) => [u.id, u]));
  const userJsonById = new Map(directory.users.map((u) => [u.id, { ...userJson(u), ...userExtra(u) }]));
  const userDefaultById = new Map(directory.users.map((u) => [u.id, userJson(u)]));
  const managed = [...directory.managedDevices].sort((a, b) => a.id.localeCompare(b.id));
  const managedById = new Map(managed.map((m) => [m.id, m]));
  const managedJsonById = new Map(managed.map((m) => [m.id, managedDeviceJson(m)]));
  const keys = [...directory.recoveryKeys].sort((a, b) => a.createdDateTime.localeCompare(b.createdDateTime) || a.id.localeCompare(b.id));
  const keyById = new Map(keys.map((k) => [k.id, k]));
  const keysByDevice = new Map<string, SimRecoveryKey[]>();
  for (const key of keys) keysByDevice.set(key.deviceId, [...(keysByDevice.get(key.deviceId) ?? []), key]);

  const deviceSample = deviceJsonById.values().next().value ?? {};
  const deviceProperties = propertyMap(deviceSample, ['registeredOwners', 'registeredUsers']);
  const userProperties = propertyMap(userJson(directory.users[0]!), USER_EXTRA_PROPERTIES);
  const managedProperties = propertyMap(managedJsonById.values().next().value ?? {});

  const authorization = createGraphAuthorization(state);
  const { authenticate, allowed, requirePermission, unauthorized } = authorization;
  const rotationEndpoints = createRotationEndpoints(state, authorization, escrow);

  const deviceFilter: FilterRules = {
    service: 'directory',
    resourceName: 'Device',
    filterable: { displayName: ['eq', 'startswith'], deviceId: ['eq'], id: ['eq'] },
    properties: deviceProperties,
  };
  const managedFilter: FilterRules = {
    service: 'intune',
    resourceName: 'ManagedDevice',
    filterable: { azureADDeviceId: ['eq'], deviceName: ['eq'], userPrincipalName: ['eq'], userId: ['eq'] },
    properties: managedProperties,
  };
  const keyFilter: FilterRules = {
    service: 'bitlocker',
    resourceName: 'BitlockerRecoveryKey',
    filterable: { deviceId: ['eq'] },
    properties: RECOVERY_KEY_PROPERTIES,
  };

  const listing = createListing(root);
  const { only, option, page, contextUrl } = listing;
  const userEndpoints = createUserEndpoints({ users: directory.users, listing, authorization, pageSize: state.pageSizes.plain });
  const employeeEndpoints = createEmployeeEndpoints({
    devices,
    deviceJson: (device) => deviceJsonById.get(device.id)!,
    deviceProperties,
    groups: state.model.groups,
    listing,
    authorization,
    pageSize: state.pageSizes.plain,
  });
  const listDirectoryAudits = createAuditLogEndpoint({ entries: state.logs.audits, listing, authorization, pageSize: state.pageSizes.plain });

  // ---- Resources -------------------------------------------------------------------------

  function ownerJson(caller: Caller, user: SimUser, select: readonly string[] | null): Json {
    // Without a permission to read users, Graph still lists owners, but as bare directory objects.
    if (!allowed(caller, USER_READ)) return { '@odata.type': '#microsoft.graph.user', id: user.id };
    return pick(select === null ? userDefaultById.get(user.id)! : userJsonById.get(user.id)!, select);
  }

  function ownersOf(device: SimDevice): SimUser[] {
    return device.ownerIds.map((id) => users.get(id)).filter((u): u is SimUser => u !== undefined);
  }

  function renderDevice(caller: Caller, device: SimDevice, select: readonly string[] | null, expand: ExpandClause | null): Json {
    const base = pick(deviceJsonById.get(device.id)!, select?.filter((s) => s !== 'registeredOwners' && s !== 'registeredUsers') ?? null);
    if (expand) base[expand.navigation] = ownersOf(device).slice(0, MAX_EXPANDED).map((u) => ownerJson(caller, u, expand.select));
    return base;
  }

  function matchDevices(clause: FilterClause | null): SimDevice[] {
    if (clause === null) return devices;
    const value = lower(clause.value);
    if (clause.property === 'displayName') {
      if (clause.operator === 'eq') return devicesByName.get(value) ?? [];
      return devices.filter((_, i) => lowerNames[i]!.startsWith(value));
    }
    const found = clause.property === 'deviceId' ? deviceByDeviceId.get(value) : deviceById.get(value);
    return found ? [found] : [];
  }

  function deviceFromSegment(segment: string): SimDevice {
    const alternate = /^devices\(deviceId='((?:[^']|'')*)'\)$/i.exec(segment);
    const device = alternate ? deviceByDeviceId.get(lower(alternate[1]!.replaceAll("''", "'"))) : undefined;
    if (!device) throw notFound(alternate ? alternate[1]! : segment);
    return device;
  }

  function notFound(id: string): GraphFailure {
    return new GraphFailure(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
  }

  function listDevices(request: GraphRequest, caller: Caller, ids: Ids): Json {
    requirePermission(caller, DEVICE_READ, 'directory', ids, request.path);
    only(request.query, ['$filter', '$select', '$expand', '$top', '$skiptoken'], 'directory');
    const filter = option(request.query, '$filter');
    const clause = filter === null ? null : parseFilter(filter, deviceFilter);
    const selectText = option(request.query, '$select');
    const select = selectText === null ? null : parseSelect(selectText, deviceProperties, 'device', 'directory');
    const expandText = option(request.query, '$expand');
    const expand = expandText === null ? null : parseExpand(expandText, userProperties);
    const top = parseTop(option(request.query, '$top'), 'directory');
    // $top sets the page size; Graph may still end a page early, and does so sooner with $expand.
    const pageSize = Math.min(top ?? 100, expand ? state.pageSizes.expanded : state.pageSizes.plain);
    return page(request, matchDevices(clause), pageSize, 'directory', contextUrl('devices', select, expand), (d) => renderDevice(caller, d, select, expand));
  }

  function getDevice(request: GraphRequest, caller: Caller, ids: Ids, device: SimDevice): Json {
    requirePermission(caller, DEVICE_READ, 'directory', ids, request.path);
    only(request.query, ['$select', '$expand'], 'directory');
    const selectText = option(request.query, '$select');
    const select = selectText === null ? null : parseSelect(selectText, deviceProperties, 'device', 'directory');
    const expandText = option(request.query, '$expand');
    const expand = expandText === null ? null : parseExpand(expandText, userProperties);
    return { '@odata.context': contextUrl('devices', select, expand, true), ...renderDevice(caller, device, select, expand) };
  }

  function listOwners(request: GraphRequest, caller: Caller, ids: Ids, device: SimDevice): Json {
    requirePermission(caller, DEVICE_READ, 'directory', ids, request.path);
    only(request.query, ['$select', '$top', '$skiptoken'], 'directory');
    const selectText = option(request.query, '$select');
    const select = selectText === null ? null : parseSelect(selectText, userProperties, 'directoryObject', 'directory');
    const top = parseTop(option(request.query, '$top'), 'directory');
    return page(request, ownersOf(device), Math.min(top ?? 100, state.pageSizes.plain), 'directory', contextUrl('directoryObjects', select), (u) =>
      ownerJson(caller, u, select),
    );
  }

  function matchManaged(clause: FilterClause | null): SimManagedDevice[] {
    if (clause === null) return managed;
    const value = lower(clause.value);
    if (clause.property === 'azureADDeviceId') return managed.filter((m) => m.azureADDeviceId === value);
    if (clause.property === 'deviceName') return managed.filter((m) => lower(m.deviceName) === value);
    if (clause.property === 'userId') return managed.filter((m) => lower(m.userId) === value);
    return managed.filter((m) => lower(m.userPrincipalName) === value);
  }

  function listManaged(request: GraphRequest, caller: Caller, ids: Ids): Json {
    requirePermission(caller, INTUNE_READ, 'intune', ids, request.path);
    only(request.query, ['$filter', '$select', '$top', '$skiptoken'], 'intune');
    const filter = option(request.query, '$filter');
    const clause = filter === null ? null : parseFilter(filter, managedFilter);
    const selectText = option(request.query, '$select');
    const select = selectText === null ? null : parseSelect(selectText, managedProperties, 'managedDevice', 'intune');
    const top = parseTop(option(request.query, '$top'), 'intune');
    return page(request, matchManaged(clause), Math.min(top ?? 100, state.pageSizes.plain), 'intune', contextUrl('deviceManagement/managedDevices', select), (m) =>
      pick(managedJsonById.get(m.id)!, select),
    );
  }

  function getManaged(request: GraphRequest, caller: Caller, ids: Ids, id: string): Json {
    requirePermission(caller, INTUNE_READ, 'intune', ids, request.path);
    only(request.query, ['$select'], 'intune');
    const record = managedById.get(lower(id));
    if (!record) throw new GraphFailure(404, 'ResourceNotFound', `{"_version": 3, "Message": "An error has occurred - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000 - Activity ID: ${ids.requestId} - Url: ${request.path}", "CustomApiErrorPhrase": "", "RetryAfter": null, "ErrorSourceService": "", "HttpHeaders": "{}"}`);
    const selectText = option(request.query, '$select');
    const select = selectText === null ? null : parseSelect(selectText, managedProperties, 'managedDevice', 'intune');
    return { '@odata.context': contextUrl('deviceManagement/managedDevices', select, null, true), ...pick(managedJsonById.get(record.id)!, select) };
  }

  function requireUserAgent(request: GraphRequest): void {
    // The BitLocker API documents User-Agent as a required header.
    if (!request.userAgent) throw new GraphFailure(400, 'BadRequest', 'The User-Agent header is required by the BitLocker recovery key API.');
  }

  function listKeys(request: GraphRequest, caller: Caller, ids: Ids): Json {
    requireUserAgent(request);
    requirePermission(caller, BITLOCKER_BASIC, 'bitlocker', ids, request.path);
    // The key list has no $top (its metadata says TopSupported=false): it pages by @odata.nextLink only.
    only(request.query, ['$filter', '$select', '$skiptoken'], 'bitlocker');
    const filter = option(request.query, '$filter');
    const clause = filter === null ? null : parseFilter(filter, keyFilter);
    const selectText = option(request.query, '$select');
    // `key` is never part of a list, selected or not.
    const select = selectText === null ? null : parseSelect(selectText, RECOVERY_KEY_PROPERTIES, 'bitlockerRecoveryKey', 'bitlocker').filter((p) => p !== 'key');
    const found = clause === null ? keys : (keysByDevice.get(lower(clause.value)) ?? []);
    return page(request, found, Math.min(100, state.pageSizes.plain), 'bitlocker', contextUrl('informationProtection/bitlocker/recoveryKeys', null), (k) =>
      pick(recoveryKeyJson(k), select !== null && select.length > 0 ? select : null),
    );
  }

  function logKeyRead(request: GraphRequest, caller: Caller, ids: Ids, key: { id: string; deviceId: string }): void {
    record(state.logs.audits, {
      id: `Directory_${randomUUID()}`,
      activityDateTime: isoSeconds(state.now()),
      category: 'KeyManagement',
      activityDisplayName: 'Read BitLocker key',
      result: 'success',
      initiatedBy: {
        appId: caller.appId,
        servicePrincipalId: caller.servicePrincipalId,
        userPrincipalName: caller.delegated ? caller.upn : null,
        userId: caller.delegated ? caller.userId : null,
        displayName: null,
        ipAddress: null,
      },
      keyId: key.id,
      deviceId: key.deviceId,
      correlationId: request.clientRequestId,
      requestId: ids.requestId,
    }, state.logLimit);
  }

  function getKey(request: GraphRequest, caller: Caller, ids: Ids, id: string): Json {
    requireUserAgent(request);
    only(request.query, ['$select'], 'bitlocker');
    const selectText = option(request.query, '$select');
    const select = selectText === null ? null : parseSelect(selectText, RECOVERY_KEY_PROPERTIES, 'bitlockerRecoveryKey', 'bitlocker');
    const wantsKey = select?.includes('key') ?? false;
    requirePermission(caller, wantsKey ? BITLOCKER_KEY : BITLOCKER_BASIC, 'bitlocker', ids, request.path);
    const key = keyById.get(lower(id));
    if (!key) throw notFound(id);
    const metadata = recoveryKeyJson(key);
    // Entra writes "Read BitLocker key" for any $select on a key, whatever it names; a GET without one is not logged.
    if (select !== null) logKeyRead(request, caller, ids, key);
    if (select !== null && select.length > 1) {
      // Users report `key` silently missing when $select names other properties too.
      return { '@odata.context': contextUrl('informationProtection/bitlocker/recoveryKeys', select, null, true), ...pick(metadata, select.filter((p) => p !== 'key')) };
    }
    if (!wantsKey) return { '@odata.context': contextUrl('informationProtection/bitlocker/recoveryKeys', select, null, true), ...pick(metadata, select) };
    state.counters.recoveryPasswordReads++;
    return { '@odata.context': contextUrl('informationProtection/bitlocker/recoveryKeys', ['key'], null, true), ...metadata, key: key.key };
  }

  function userInfo(caller: Caller): Json {
    const user = caller.userId ? users.get(caller.userId) : undefined;
    if (!caller.delegated || !user) throw unauthorized('Access token validation failure: userinfo needs a user (delegated) token.');
    return { sub: user.id, name: user.displayName, family_name: user.surname, given_name: user.givenName, picture: `${root}/v1.0/me/photo/$value`, email: user.mail };
  }

  // ---- Routing ---------------------------------------------------------------------------

  /** `/users/{id | upn}/ownedDevices` (GET) and `/users/{id | upn}/checkMemberGroups` (POST). */
  function userNavigation(request: GraphRequest, caller: Caller, ids: Ids, idOrUpn: string, navigation: string): Json {
    const user = users.get(lower(idOrUpn)) ?? directory.userByUpn(idOrUpn);
    const nav = lower(navigation);
    const method = nav === 'checkmembergroups' ? 'POST' : 'GET';
    if (nav !== 'owneddevices' && nav !== 'checkmembergroups') throw new GraphFailure(400, 'BadRequest', `Resource not found for the segment '${navigation}'.`);
    if (request.method !== method) throw new GraphFailure(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');
    if (!user) throw new GraphFailure(404, 'Request_ResourceNotFound', `Resource '${idOrUpn}' does not exist or one of its queried reference-property objects are not present.`);
    return nav === 'owneddevices' ? employeeEndpoints.ownedDevices(request, caller, ids, user) : employeeEndpoints.checkMemberGroups(request, caller, ids, user);
  }

  function route(request: GraphRequest, caller: Caller, ids: Ids): Json | typeof NO_CONTENT {
    if (lower(request.path) === '/oidc/userinfo') return userInfo(caller);
    const segments = request.path.split('/').slice(1);
    const [version, first = '', second, third, fourth, ...rest] = segments;
    // Beta: only Intune's BitLocker rotation and the managed device's action results.
    if (version === 'beta') return rotationEndpoints.answerBeta(request, caller, ids);
    if (version !== 'v1.0') throw new GraphFailure(400, 'BadRequest', `Invalid version: ${version ?? ''}`);
    const a = lower(first);
    const read = request.method === 'GET';
    const methodNotAllowed = () => new GraphFailure(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');

    if (a === 'devices' || a.startsWith('devices(')) {
      if (!read) throw methodNotAllowed();
      if (a === 'devices' && second === undefined) return listDevices(request, caller, ids);
      const alternate = a !== 'devices';
      const idSegment = alternate ? first : (second ?? '');
      const navigation = alternate ? second : third;
      if ((alternate ? third : fourth) !== undefined || rest.length > 0) throw new GraphFailure(400, 'BadRequest', `Resource not found for the segment '${(alternate ? third : fourth) ?? ''}'.`);
      requirePermission(caller, DEVICE_READ, 'directory', ids, request.path);
      const device = alternate ? deviceFromSegment(idSegment) : deviceById.get(lower(idSegment));
      if (!device) throw notFound(idSegment);
      if (navigation === undefined) return getDevice(request, caller, ids, device);
      const nav = lower(navigation);
      if (nav === 'registeredowners' || nav === 'registeredusers') return listOwners(request, caller, ids, device);
      throw new GraphFailure(400, 'BadRequest', `Resource not found for the segment '${navigation}'.`);
    }
    if (a === 'users') {
      if (second !== undefined && third !== undefined && fourth === undefined) return userNavigation(request, caller, ids, second, third);
      if (!read) throw methodNotAllowed();
      if (second === undefined) return userEndpoints.listUsers(request, caller, ids);
      if (third === undefined) return userEndpoints.getUser(request, caller, ids, second);
      throw new GraphFailure(400, 'BadRequest', `Resource not found for the segment '${third}'.`);
    }
    if (a === 'devicemanagement' && second !== undefined && lower(second) === 'manageddevices') {
      if (!read) throw methodNotAllowed();
      if (third === undefined) return listManaged(request, caller, ids);
      if (fourth === undefined) return getManaged(request, caller, ids, third);
      throw new GraphFailure(400, 'BadRequest', `Resource not found for the segment '${fourth}'.`);
    }
    if (a === 'auditlogs' && lower(second ?? '') === 'directoryaudits' && third === undefined) {
      if (!read) throw methodNotAllowed();
      return listDirectoryAudits(request, caller, ids);
    }
    if (a === 'informationprotection' && lower(second ?? '') === 'bitlocker' && lower(third ?? '') === 'recoverykeys') {
      if (!read) throw methodNotAllowed();
      if (fourth === undefined) return listKeys(request, caller, ids);
      if (rest.length === 0) return getKey(request, caller, ids, fourth);
      throw new GraphFailure(400, 'BadRequest', `Resource not found for the segment '${rest[0]}'.`);
    }
    throw new GraphFailure(400, 'BadRequest', `Resource not found for the segment '${first}'.`);
  }

  /** One Graph request, top-level or inside a $batch: knobs, authentication, the endpoint. */
  async function answerOne(request: GraphRequest): Promise<GraphAnswer> {
    const time = state.now();
    const requestId = randomUUID();
    const ids: Ids = { requestId, clientRequestId: request.clientRequestId ?? requestId };
    const entry = logEntry(request, ids, time);
    if (request.inBatch) entry.inBatch = true;
    let answer: GraphAnswer;
    const decision = state.faults.take();
    if (decision.delayMs > 0) await state.delays.wait(decision.delayMs);
    if (decision.fault !== null) {
      const { status, retryAfterSeconds } = decision.fault;
      entry.fault = status === 429 ? 'throttled' : 'unavailable';
      answer = errorAnswer(state.now(),
        status === 429
          ? { status, code: 'TooManyRequests', message: 'Too many requests.' }
          : status === 503
            ? { status, code: 'ServiceUnavailable', message: 'The service is temporarily unavailable. Please retry later.' }
            : { status, code: 'GatewayTimeout', message: 'The gateway did not receive a timely response from the upstream service.' },
        ids,
      );
      if (retryAfterSeconds !== null) answer.headers['retry-after'] = String(retryAfterSeconds);
    } else {
      try {
        const caller = await authenticate(request.authorization);
        entry.appId = caller.appId;
        const body = route(request, caller, ids);
        answer = body === NO_CONTENT ? { status: 204, headers: {}, body: null } : { status: 200, headers: {}, body };
      } catch (error) {
        if (error instanceof GraphFailure || error instanceof GraphQueryError) answer = errorAnswer(state.now(), error, ids);
        else answer = errorAnswer(state.now(), { status: 500, code: 'generalException', message: `The simulated Graph failed: ${error instanceof Error ? error.message : String(error)}` }, ids);
      }
    }
    answer.headers['content-type'] = GRAPH_JSON_TYPE;
    answer.headers['request-id'] = ids.requestId;
    answer.headers['client-request-id'] = ids.clientRequestId;
    entry.status = answer.status;
    state.counters.graphRequests++;
    if (!request.inBatch) state.counters.graphRoundTrips++;
    record(state.logs.graph, entry, state.logLimit);
    return answer;
  }

  const handler: SimHandler = (incoming: IncomingMessage, response: ServerResponse) => {
    const url = incoming.url ?? '/';
    const q = url.indexOf('?');
    let path: string;
    try {
      path = decodeURIComponent(q === -1 ? url : url.slice(0, q));
    } catch {
      path = q === -1 ? url : url.slice(0, q);
    }
    const request: GraphRequest = {
      method: incoming.method ?? 'GET',
      path,
      query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)),
      authorization: incoming.headers.authorization,
      userAgent: header(incoming, 'user-agent'),
      clientRequestId: header(incoming, 'client-request-id'),
      clientName: header(incoming, 'ocp-client-name'),
      body: null,
      inBatch: false,
    };
    const isBatch = lower(path) === '/v1.0/$batch';
    const work = async (): Promise<GraphAnswer> => {
      if (path === '/_simulator/portal-reads' && request.method === 'POST') {
        const planted = portalReadAnswer(state, await readBody(incoming));
        return { status: planted.status, headers: { 'content-type': 'application/json' }, body: planted.body };
      }
      if (isBatch && request.method === 'POST') {
        request.body = await readBody(incoming);
        return answerBatch(state, request, answerOne);
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') request.body = await readBody(incoming, 1_048_576);
      else incoming.resume();
      return answerOne(request);
    };
    work()
      .catch((error: unknown) => {
        const requestId = randomUUID();
        const ids = { requestId, clientRequestId: request.clientRequestId ?? requestId };
        return errorAnswer(state.now(),
          error instanceof BodyTooLarge
            ? { status: 413, code: 'RequestEntityTooLarge', message: 'The request body is too large.' }
            : { status: 500, code: 'generalException', message: `The simulated Graph failed: ${error instanceof Error ? error.message : String(error)}` },
          ids,
        );
      })
      .then(async (answer) => {
        if (state.faults.latencyMs > 0) await state.delays.wait(state.faults.latencyMs);
        send(response, { status: answer.status, headers: answer.headers, body: answer.body === null ? '' : JSON.stringify(answer.body) });
      });
  };

  return { handler };
}
