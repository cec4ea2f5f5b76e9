import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { auditCallerOf } from '../auth/audit-caller.js';
import { checkRevealSignIn } from '../auth/sign-in-freshness.js';
import { signInPath } from '../auth/staff-session.js';
import type { WebConfig } from '../config/config.js';
import type { SelfServiceConfig } from '../config/self-service-config.js';
import type { DisclosureAttempt, DisclosureResult } from '../disclosure/service.js';
import { refusal } from '../disclosure/wording.js';
import { shownForm } from './reveal-form.js';
import type { Employee } from '../graph/employee-directory.js';
import { perMinute, staffDisclosuresKey } from '../plugins/external/rate-limit.js';
import { logProblem, toProblem } from '../plugins/app/problem-details.js';
import { KeyDeskProblem, isProblem } from '../problem/problem.js';
import { deviceIdParam } from './device-page.js';
import { consumeFormToken, newFormToken } from './form-token.js';
import { keyPage } from './key-page.js';
import { sendPage, viewerOf } from './pages.js';
import { EMPTY_SELF_SERVICE_FORM, devicePage, devicesPage, problemPage, type SelfServiceForm } from './self-service-pages.js';

/**
 * The self-service door: /self-service/ for any signed-in member of the tenant (no KeyDesk app
 * role), their own devices only. Its POST maps the form onto the self-service input contract and
 * hands it to the one intake (`app.disclosures`, door `self_service`), exactly as the web UI's
 * reveal does; the door's own layers (CSRF, the per-minute limit, the one-time form, who may use
 * the door, the daily limit, a fresh sign-in) refuse through the same intake, so every attempt of
 * a signed-in employee is recorded.
 */

export interface SelfServiceOptions {
  web: WebConfig;
  selfService: SelfServiceConfig;
  clientId: string;
  disclosuresPerMinute: number;
  now: () => number;
}

interface RevealBody {
  _csrf?: string;
  formToken?: string;
  keyId?: string;
  reason?: string;
  comment?: string;
}

type DeviceRequest = FastifyRequest<{ Params: { deviceId: string } }>;
type RevealRequest = FastifyRequest<{ Params: { deviceId: string }; Body: RevealBody }>;

const formString = (maxLength: number) => ({ type: 'string', maxLength }) as const;
const revealBody = { type: 'object', properties: { _csrf: formString(256), formToken: formString(64), keyId: formString(64), reason: formString(64), comment: formString(1000) } } as const;

/** Signed in, whatever app role (none is needed here); else to sign-in and back. */
const signedIn: preHandlerAsyncHookHandler = async function signedIn(request, reply) {
  if (!request.staff) return reply.redirect(signInPath(request.method === 'GET' ? request.url : '/self-service/'), 302);
};

function pickSelfServiceForm(body: RevealBody | null | undefined): SelfServiceForm {
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  return { keyId: text(body?.keyId), reason: text(body?.reason), comment: text(body?.comment) };
}

/** The form as a page shows it again (or keeps it across Entra): a field holding something shaped like a recovery password comes back empty. */
const shownSelfServiceForm = (body: RevealBody | null | undefined): SelfServiceForm => shownForm(pickSelfServiceForm(body));

function attemptOf(request: RevealRequest, clientId: string, employee: Employee | null): DisclosureAttempt {
  const person = request.staff!;
  const form = pickSelfServiceForm(request.body);
  const comment = form.comment.trim();
  return {
    door: 'self_service',
    caller: auditCallerOf({ kind: 'user', appId: clientId, oid: person.oid, upn: person.upn, name: person.name }, request),
    requestId: request.id,
    callerRequestId: request.callerRequestId,
    // The requester is the signed-in employee, as the directory spells them once it was asked.
    input: { deviceId: request.params.deviceId, keyId: form.keyId.trim(), reason: form.reason, requesterUpn: employee?.userPrincipalName ?? person.upn, ...(comment !== '' ? { comment } : {}) },
    inputLocation: 'form',
    namedDeviceId: request.params.deviceId,
    log: request.log,
  };
}

async function problemAnswer(request: FastifyRequest, reply: FastifyReply, problem: KeyDeskProblem, config: SelfServiceConfig): Promise<FastifyReply> {
  for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
  return sendPage(reply, problem.status, problemPage(viewerOf(request, reply), problem, config));
}

/** The employee and their device, or the problem page that says why not. */
async function ownDevice(app: FastifyInstance, request: DeviceRequest) {
  const employee = await app.selfService.checkEmployee(request.staff!.oid);
  const devices = await app.selfService.devicesOf(employee);
  const device = devices.find((d) => d.deviceId.toLowerCase() === request.params.deviceId.toLowerCase());
  if (!device) throw new KeyDeskProblem('not_found', 'This device is not one of yours, or no longer registered to you. Choose it from your devices.');
  return { employee, device };
}

/** The page a disclosure result is answered with. */
function resultPage(request: RevealRequest, reply: FastifyReply, result: DisclosureResult, options: SelfServiceOptions): FastifyReply {
  const viewer = viewerOf(request, reply)!;
  if (result.outcome === 'granted') return sendPage(reply, 200, keyPage(viewer, result, options.web.keyDisplaySeconds, { employee: true }));
  const device = result.resolved.device;
  // Of another person's device the employee learns nothing, not even its name.
  if (!device || result.problem.code === 'requester_not_owner') return sendPage(reply, result.problem.status, problemPage(viewer, result.problem, options.selfService));
  const state = { device, form: shownSelfServiceForm(request.body), tokens: { csrf: reply.generateCsrf(), form: newFormToken(request) }, refusal: result.problem };
  return sendPage(reply, result.problem.status, devicePage(viewer, state, options.selfService));
}

export default async function selfServicePages(app: FastifyInstance, options: SelfServiceOptions): Promise<void> {
  const config = options.selfService;
  app.get('/self-service', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/self-service/', 301));
  app.get('/self-service/', { schema: { hide: true }, preHandler: signedIn }, async (request, reply) => {
    try {
      const employee = await app.selfService.checkEmployee(request.staff!.oid);
      const [devices, used] = await Promise.all([app.selfService.devicesOf(employee), app.selfService.grantedInLastDay(employee.id)]);
      return sendPage(reply, 200, devicesPage(viewerOf(request, reply)!, devices, Math.max(0, config.disclosuresPerDay - used), config));
    } catch (error) {
      if (!isProblem(error)) throw error;
      return problemAnswer(request, reply, error, config);
    }
  });
  app.get<{ Params: { deviceId: string } }>('/self-service/devices/:deviceId', { schema: { hide: true, params: deviceIdParam }, preHandler: signedIn }, async (request, reply) => {
    try {
      const { device } = await ownDevice(app, request);
      const state = { device, form: takeDraft(request), tokens: { csrf: reply.generateCsrf(), form: newFormToken(request) }, refusal: null };
      return sendPage(reply, 200, devicePage(viewerOf(request, reply)!, state, config));
    } catch (error) {
      if (!isProblem(error)) throw error;
      return problemAnswer(request, reply, error, config);
    }
  });
  revealRoute(app, options);
}

/** A form kept across a trip through Entra comes back filled in, once, for the same person. */
function takeDraft(request: DeviceRequest): SelfServiceForm {
  const draft = request.session.draft;
  if (!draft || draft.path !== `/self-service/devices/${encodeURIComponent(request.params.deviceId)}` || draft.forOid !== request.staff!.oid) return EMPTY_SELF_SERVICE_FORM;
  request.session.draft = undefined;
  return shownSelfServiceForm(draft.fields);
}

function revealRoute(app: FastifyInstance, options: SelfServiceOptions): void {
  const refuse = async (request: RevealRequest, reply: FastifyReply, problem: KeyDeskProblem, employee: Employee | null = null) =>
    resultPage(request, reply, await app.disclosures.refuse(attemptOf(request, options.clientId, employee), problem), options);
  app.post<{ Params: { deviceId: string }; Body: RevealBody }>(
    '/self-service/devices/:deviceId/reveal',
    {
      schema: { hide: true, params: deviceIdParam, body: revealBody },
      // One person's attempts per minute, counted with their staff reveals (Redis when REDIS_URL is set).
      config: { recordsRefusals: true, rateLimit: perMinute({ max: () => options.disclosuresPerMinute, key: (request) => staffDisclosuresKey(request.staff?.oid ?? null) }) },
      preHandler: [signedIn, app.csrfProtection],
      errorHandler: async (error, request, reply) => {
        const problem = toProblem(error);
        logProblem(request, problem, error);
        if (!request.staff) return problemAnswer(request, reply, problem, options.selfService);
        return refuse(request as RevealRequest, reply, problem);
      },
    },
    async (request, reply) => {
      if (!(await consumeFormToken(request, request.body?.formToken))) return refuse(request, reply, refusal('form_already_used'));
      let employee: Employee;
      try {
        employee = await app.selfService.checkEmployee(request.staff!.oid);
        await app.selfService.checkDailyLimit(employee.id);
      } catch (error) {
        if (!isProblem(error)) throw error;
        return refuse(request, reply, error);
      }
      if (await sentBackToEntra(app, request, reply, options, employee)) return reply;
      return resultPage(request, reply, await app.disclosures.disclose(attemptOf(request, options.clientId, employee)), options);
    },
  );
}

/**
 * A sign-in older than REAUTH_MAX_AGE, or without SELF_SERVICE_AUTH_CONTEXT: recorded, then back
 * through Entra with the form kept. True when the answer is sent.
 */
async function sentBackToEntra(app: FastifyInstance, request: RevealRequest, reply: FastifyReply, options: SelfServiceOptions, employee: Employee): Promise<boolean> {
  const authContext = options.selfService.authContext;
  const verdict = checkRevealSignIn(request.staff!, { reauthMaxAgeSeconds: options.web.reauthMaxAgeSeconds, requiredAuthContext: authContext }, options.now());
  if (verdict === 'ok') return false;
  const problem = verdict === 'reauthenticate' ? refusal('reauthentication_required', { maxAgeSeconds: options.web.reauthMaxAgeSeconds }) : refusal('step_up_required', { authContext: authContext ?? '' });
  const recorded = await app.disclosures.refuse(attemptOf(request, options.clientId, employee), problem);
  if (recorded.problem.code === 'audit_unavailable') {
    resultPage(request, reply, recorded, options);
    return true;
  }
  const form = shownSelfServiceForm(request.body);
  await app.sendToEntra(request, reply, { returnTo: `/self-service/devices/${encodeURIComponent(request.params.deviceId)}`, verdict, authContext, draft: { keyId: form.keyId, reason: form.reason, comment: form.comment } });
  return true;
}
