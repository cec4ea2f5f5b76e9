import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditCallerOf } from '../auth/audit-caller.js';
import { APP_ROLES } from '../auth/roles.js';
import { checkRevealSignIn } from '../auth/sign-in-freshness.js';
import type { DisabledCheck, WebConfig } from '../config/config.js';
import type { DisclosureAttempt, RefusedDisclosure } from '../disclosure/service.js';
import { refusal } from '../disclosure/wording.js';
import { perMinute, staffDisclosuresKey } from '../plugins/external/rate-limit.js';
import { toProblem, logProblem } from '../plugins/app/problem-details.js';
import type { KeyDeskProblem } from '../problem/problem.js';
import { deviceIdParam, renderDevicePage } from './device-page.js';
import { consumeFormToken } from './form-token.js';
import { keyPage } from './key-page.js';
import { renderProblemPage, sendPage, viewerOf } from './pages.js';
import { rotationCell } from './rotation-pages.js';
import { disclosureInputOf, pickForm, shownForm, type RevealForm } from './reveal-form.js';

/**
 * The web UI's door into disclosure: POST /devices/<deviceId>/reveal. It maps the form onto the
 * one input contract and hands it to the same intake as the API (`app.disclosures`); its own
 * layers (CSRF, the reveal rate limit, the one-time form, a fresh enough sign-in) refuse through
 * the same intake, so each refusal of a signed-in staff member is recorded like any other. The key
 * page is this POST's response and nothing else: the password is never stored, never in a URL.
 */

export interface RevealOptions {
  web: WebConfig;
  disabledDeviceCheck: DisabledCheck;
  clientId: string;
  requiredAuthContext: string | null;
  staffDisclosuresPerMinute: number;
  now: () => number;
}

interface RevealBody extends Partial<RevealForm> {
  _csrf?: string;
  formToken?: string;
}

type RevealRequest = FastifyRequest<{ Params: { deviceId: string }; Body: RevealBody }>;

const formString = (maxLength: number) => ({ type: 'string', maxLength }) as const;
const revealBody = {
  type: 'object',
  properties: { _csrf: formString(256), formToken: formString(64), keyId: formString(64), requester: formString(256), ticket: formString(64), reason: formString(64), comment: formString(1000) },
} as const;

function webAttempt(request: RevealRequest, clientId: string): DisclosureAttempt {
  const staff = request.staff!;
  const form = pickForm(request.body);
  return {
    door: 'web',
    caller: auditCallerOf({ kind: 'user', appId: clientId, oid: staff.oid, upn: staff.upn, name: staff.name }, request),
    requestId: request.id,
    callerRequestId: request.callerRequestId,
    input: disclosureInputOf(request.params.deviceId, form, staff),
    inputLocation: 'form',
    namedDeviceId: request.params.deviceId,
    log: request.log,
  };
}

/** The page of a refused attempt: the device page with what the attempt resolved, the form as typed. */
function refusedPage(request: RevealRequest, reply: FastifyReply, result: RefusedDisclosure, options: RevealOptions): FastifyReply {
  const { device, intune, recoveryKeys, matchedKey } = result.resolved;
  return renderDevicePage(request, reply, {
    deviceId: request.params.deviceId,
    data: { device, intune, recoveryKeys },
    disabledDeviceCheck: options.disabledDeviceCheck,
    form: shownForm(pickForm(request.body)),
    refusal: result.problem,
    attempt: { checks: result.checks, matchedKey },
  });
}

export default async function revealRoute(app: FastifyInstance, options: RevealOptions): Promise<void> {
  const refuse = async (request: RevealRequest, reply: FastifyReply, problem: KeyDeskProblem) =>
    refusedPage(request, reply, await app.disclosures.refuse(webAttempt(request, options.clientId), problem), options);

  app.post<{ Params: { deviceId: string }; Body: RevealBody }>(
    '/devices/:deviceId/reveal',
    {
      schema: { hide: true, params: deviceIdParam, body: revealBody },
      config: { recordsRefusals: true, rateLimit: perMinute({ max: () => options.staffDisclosuresPerMinute, key: (request) => staffDisclosuresKey(request.staff?.oid ?? null) }) },
      // Then the reveal rate limit (its hook runs after these).
      preHandler: [app.requireStaff(APP_ROLES.disclose), app.csrfProtection],
      // A signed-in staff member's attempt refused before the handler (role, rate limit, an
      // unreadable form) is recorded like any other; a browser that is not signed in was sent to sign in.
      errorHandler: async (error, request, reply) => {
        const problem = toProblem(error);
        logProblem(request, problem, error);
        if (!request.staff) return sendPage(reply, problem.status, renderProblemPage(request, reply, problem));
        return refuse(request as RevealRequest, reply, problem);
      },
    },
    async (request, reply) => {
      const early = await earlyRefusal(app, request, reply, options);
      if (early === 'answered') return reply;
      if (early) return refuse(request, reply, early);
      const result = await app.disclosures.disclose(webAttempt(request, options.clientId));
      if (result.outcome !== 'granted') return refusedPage(request, reply, result, options);
      return sendPage(reply, 200, keyPage(viewerOf(request, reply), result, options.web.keyDisplaySeconds, { rotation: rotationCell(request, reply, result.disclosureId, null) }));
    },
  );
}

/**
 * The web door's own checks, before the intake (the CSRF token was checked as a preHandler): the one-time form, a sign-in fresh
 * enough (else, once the refusal is recorded, back through Entra with the form kept).
 */
async function earlyRefusal(app: FastifyInstance, request: RevealRequest, reply: FastifyReply, options: RevealOptions): Promise<KeyDeskProblem | 'answered' | null> {
  if (!(await consumeFormToken(request, request.body?.formToken))) return refusal('form_already_used');
  const { web } = options;
  const verdict = checkRevealSignIn(request.staff!, { reauthMaxAgeSeconds: web.reauthMaxAgeSeconds, requiredAuthContext: options.requiredAuthContext }, options.now());
  if (verdict === 'ok') return null;
  const problem =
    verdict === 'reauthenticate'
      ? refusal('reauthentication_required', { maxAgeSeconds: web.reauthMaxAgeSeconds })
      : refusal('step_up_required', { authContext: options.requiredAuthContext ?? '' });
  // Recorded before the browser leaves for Entra; if it cannot be, the page says so instead.
  const recorded = await app.disclosures.refuse(webAttempt(request, options.clientId), problem);
  if (recorded.problem.code === 'audit_unavailable') {
    refusedPage(request, reply, recorded, options);
    return 'answered';
  }
  await app.sendToEntra(request, reply, { returnTo: `/devices/${encodeURIComponent(request.params.deviceId)}`, verdict, draft: { ...shownForm(pickForm(request.body)) } });
  return 'answered';
}
