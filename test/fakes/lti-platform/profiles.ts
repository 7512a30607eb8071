/**
 * The three LMS profiles of the LTI platform fake: where each one serves its endpoints, how it
 * starts a launch, what its identifiers look like, and the few places where each one answers
 * differently. Facts and their sources (checked for issue 17; shared/reference/flow-of-work.md §4):
 *
 * Canvas (instructure/canvas-lms: doc/api/lti_launch_overview.md, doc/api/lti_window_post_message.md,
 * app/controllers/lti/ims/authentication_controller.rb, lib/canvas/oauth/*client_credentials_provider.rb,
 * app/controllers/lti/ims/scores_controller.rb, ui/shared/lti/jquery/*, gems/lti-advantage):
 * - One issuer for every hosted customer, `https://canvas.instructure.com`; OIDC auth at
 *   `https://sso.canvaslms.com/api/lti/authorize_redirect`, which redirects to the customer's
 *   domain `/api/lti/authorize`; token at `/login/oauth2/token`; keys at `/api/lti/security/jwks`.
 * - Login initiation is an auto-submitted **POST** form: iss, login_hint, client_id,
 *   lti_deployment_id, target_link_uri, lti_message_hint (a JWT), canvas_environment,
 *   canvas_region and `lti_storage_target=post_message_forwarding`; the launch form_post carries
 *   `lti_storage_target` again. id_token: `aud` a string plus `azp`, lifetime 3600 s.
 * - Auth request: client_id, login_hint, lti_message_hint, nonce, prompt, redirect_uri,
 *   response_mode, response_type and scope are required (`invalid_request_object` when missing),
 *   a consumed launch answers `launch_no_longer_valid`, errors are form-posted with `state`.
 * - Client assertion `aud` must be the token URL the tool called; Canvas skips the jti check
 *   (`skip_jti_check: true`): the fake does not (see index.ts, "stricter than the vendors").
 * - Scores: a timestamp earlier than the stored result's is 400 (an equal one is accepted by
 *   Canvas); scoreMaximum missing when scoreGiven is present, or negative, is 422; success is
 *   200 `{ resultUrl }`.
 * - Platform storage: `lti.capabilities` answered by the page, `lti.put_data`/`lti.get_data` by the
 *   sibling frame `post_message_forwarding` on the OIDC auth origin, partitioned by tool origin,
 *   4096 characters and 500 keys per tool (`storage_exhaustion`), errors `{ code, message }`.
 *
 * Moodle (moodle/moodle: mod/lti/locallib.php lti_build_login_request and the login form,
 * mod/lti/auth.php, mod/lti/token.php, core_ltix helper verify_jwt_signature/verify_with_keyset,
 * lti_sign_jwt, mod/lti/service/gradebookservices/classes/local/resources/scores.php, lineitem(s).php):
 * - Issuer is the site's wwwroot; endpoints `/mod/lti/auth.php`, `/mod/lti/token.php`,
 *   `/mod/lti/certs.php`; the deployment id is the tool type id (a small number) and is sent as
 *   `lti_deployment_id`; login initiation is an auto-submitted **POST** form (`ltiInitiateLoginForm`)
 *   with iss, target_link_uri, login_hint (the user id), lti_message_hint (JSON `{"cmid":…,
 *   "launchid":…}`), client_id, lti_deployment_id. No platform storage target is sent.
 * - id_token: `aud` the client id string, no `azp`, lifetime 60 s.
 * - Token endpoint: form body only, finds the tool by the assertion's `sub`, verifies the signature
 *   against the tool's key set (refetched once when verification fails) and exp/nbf/iat. Moodle
 *   checks **neither `aud` nor `jti`** (JWT::decode only): the fake checks both. Requested scopes are
 *   intersected with the permitted ones (`invalid_scope` only when nothing is left).
 * - AGS URLs carry `?type_id=<deployment>` and the line item URL ends in `/lineitem`, so the scores
 *   URL is `…/lineitem/scores?type_id=…`: a tool must insert `/scores` before the query string.
 * - Scores: a timestamp not later than the stored one **at whole-second precision**
 *   (`timemodified >= strtotime(timestamp)`) is 409; a malformed score is 400.
 *
 * Blackboard Learn (docs.anthology.com, blackboard/anthologydevdocs: docs/blackboard/lti/1.3/core/
 * 02-authentication.md, 06-jwt-sample.md, docs/lti/core/poidc-login-lti_storage_target.md; a
 * recorded Learn login request with `lti_storage_target: 'lti_storage_frame'`; Learn's dynamic
 * registration metadata):
 * - Issuer `https://blackboard.com`; the tool is registered **once** on the developer portal (one
 *   global client_id) and each institution deploys it with its own deployment_id. OIDC auth at
 *   `/api/v1/gateway/oidcauth`, token at `/api/v1/gateway/oauth2/jwttoken`, keys per application.
 * - Login initiation is a **GET** with query parameters iss, login_hint, target_link_uri,
 *   lti_message_hint, lti_deployment_id and client_id ("optional, but Learn always sends it"), and
 *   `lti_storage_target=lti_storage_frame`. Learn does **not** add `lti_storage_target` to the
 *   launch it posts to the redirect URI (only `id_token` and `state`).
 *
 * CHOSEN (no vendor page says; labelled here and in the README): Blackboard's frame URL, deep-link
 * return path and AGS error statuses (400 as Canvas), every profile's error body for AGS/NRPS
 * (`{ errors: { type, message } }`, Canvas's shape), Moodle's and Blackboard's deep-link return paths,
 * and the score success answer of Moodle and Blackboard (204).
 */
import { randomBytes, randomInt, randomUUID } from 'node:crypto';

export type LtiProfileName = 'canvas' | 'moodle' | 'blackboard';

/** The service URL the fake recognised in a request path. */
export type ServiceRoute =
  | { kind: 'lineitems'; courseId: string }
  | { kind: 'lineitem' | 'scores' | 'results'; courseId: string; itemId: string }
  | { kind: 'memberships'; courseId: string; deploymentId?: string };

export interface ScorePolicy {
  /** Status for a timestamp that is not later than the last one recorded for that user. */
  staleStatus: 400 | 409;
  /** Compare timestamps at whole seconds (Moodle's `strtotime`), not milliseconds. */
  wholeSeconds: boolean;
  /** Status for scoreMaximum missing (with scoreGiven) or not above 0. */
  scoreMaximumStatus: 400 | 422;
  /** Status for a userId that is not a member of the course. */
  unknownUserStatus: 400 | 422;
  /** Success answer: Canvas's `200 { resultUrl }`, or 204. */
  success: 'result-url' | 'no-content';
}

export interface LtiProfile {
  name: LtiProfileName;
  /** `tool_platform.product_family_code`. */
  productFamilyCode: string;
  platformName: string;
  /** The `iss` of every message: fixed for Canvas and Blackboard, the site URL for Moodle. */
  issuer(origin: string): string;
  loginInitiationMethod: 'GET' | 'POST';
  /** Platform storage, when the LMS offers it: the frame's name and where the frame lives. */
  storage?: { target: string; framePath: string; inLaunch: boolean };
  idTokenLifetimeSeconds: number;
  /** Adds `azp` (= the client id) to every id_token, as Canvas does. */
  sendsAzp: boolean;
  /** Token endpoint scope handling: refuse any scope not permitted, or keep the permitted ones. */
  tokenScopes: 'refuse' | 'intersect';
  score: ScorePolicy;
  paths: {
    /** Where the tool sends its OIDC authentication request. */
    authorize: string;
    /** Canvas only: the customer-domain step `authorize_redirect` sends the browser to. */
    authorizeFinal?: string;
    token: string;
    jwks(clientId: string): string;
    deepLinkReturn(courseId: string): string;
    lineItems(courseId: string, deploymentId: string): string;
    lineItem(courseId: string, itemId: string, deploymentId: string): string;
    memberships(courseId: string, deploymentId: string): string;
  };
  /** The service a path names, or undefined. */
  matchService(path: string): ServiceRoute | undefined;
  /** Extra login-initiation parameters (Canvas's region and environment). */
  extraLoginParameters: Record<string, string>;
  ids: {
    clientId(): string;
    deploymentId(): string;
    userId(): string;
    courseId(): string;
    kid(): string;
    lineItemId(): string;
    resourceLinkId(): string;
    loginHint(userId: string): string;
    /** The opaque lti_message_hint for a launch. */
    messageHint(launchId: string, courseId: string): string;
  };
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const alnum = (length: number) => {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
};
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

let canvasSequence = 10_000_000_000_000;
let moodleTypeSequence = 0;

const canvas: LtiProfile = {
  name: 'canvas',
  productFamilyCode: 'canvas',
  platformName: 'Canvas LMS (fake)',
  issuer: () => 'https://canvas.instructure.com',
  loginInitiationMethod: 'POST',
  storage: { target: 'post_message_forwarding', framePath: '/post_message_forwarding', inLaunch: true },
  idTokenLifetimeSeconds: 3600,
  sendsAzp: true,
  tokenScopes: 'refuse',
  score: {
    staleStatus: 400,
    wholeSeconds: false,
    scoreMaximumStatus: 422,
    unknownUserStatus: 422,
    success: 'result-url',
  },
  paths: {
    authorize: '/api/lti/authorize_redirect',
    authorizeFinal: '/api/lti/authorize',
    token: '/login/oauth2/token',
    jwks: () => '/api/lti/security/jwks',
    deepLinkReturn: (courseId) => `/courses/${courseId}/deep_linking_response`,
    lineItems: (courseId) => `/api/lti/courses/${courseId}/line_items`,
    lineItem: (courseId, itemId) => `/api/lti/courses/${courseId}/line_items/${itemId}`,
    memberships: (courseId) => `/api/lti/courses/${courseId}/names_and_roles`,
  },
  matchService(path) {
    let m = /^\/api\/lti\/courses\/([^/]+)\/line_items$/.exec(path);
    if (m) return { kind: 'lineitems', courseId: m[1] as string };
    m = /^\/api\/lti\/courses\/([^/]+)\/line_items\/([^/]+)(?:\/(scores|results))?$/.exec(path);
    if (m)
      return {
        kind: (m[3] as 'scores' | 'results') ?? 'lineitem',
        courseId: m[1] as string,
        itemId: m[2] as string,
      };
    m = /^\/api\/lti\/courses\/([^/]+)\/names_and_roles$/.exec(path);
    if (m) return { kind: 'memberships', courseId: m[1] as string };
    return undefined;
  },
  extraLoginParameters: { canvas_environment: 'prod', canvas_region: 'not_configured' },
  ids: {
    clientId: () => String(++canvasSequence),
    deploymentId: () => `${randomInt(1000, 9999)}:${hex(20)}`,
    userId: () => randomUUID(),
    courseId: () => String(randomInt(100, 99_999)),
    kid: () => `${new Date().toISOString().slice(0, 19)}Z_${randomUUID()}`,
    lineItemId: () => String(randomInt(1, 999_999)),
    resourceLinkId: () => hex(20),
    loginHint: () => hex(20),
    messageHint: (launchId, courseId) =>
      `${b64url({ typ: 'JWT', alg: 'HS256' })}.${b64url({
        verifier: launchId,
        canvas_domain: 'canvas.example.test',
        context_type: 'Course',
        context_id: courseId,
        include_storage_target: true,
      })}.${randomBytes(32).toString('base64url')}`,
  },
};

const moodle: LtiProfile = {
  name: 'moodle',
  productFamilyCode: 'moodle',
  platformName: 'Moodle (fake)',
  issuer: (origin) => origin,
  loginInitiationMethod: 'POST',
  idTokenLifetimeSeconds: 60,
  sendsAzp: false,
  tokenScopes: 'intersect',
  score: {
    staleStatus: 409,
    wholeSeconds: true,
    scoreMaximumStatus: 400,
    unknownUserStatus: 400,
    success: 'no-content',
  },
  paths: {
    authorize: '/mod/lti/auth.php',
    token: '/mod/lti/token.php',
    jwks: () => '/mod/lti/certs.php',
    deepLinkReturn: (courseId) => `/mod/lti/contentitem_return.php?course=${courseId}`,
    lineItems: (courseId, deploymentId) =>
      `/mod/lti/services.php/${courseId}/lineitems?type_id=${deploymentId}`,
    lineItem: (courseId, itemId, deploymentId) =>
      `/mod/lti/services.php/${courseId}/lineitems/${itemId}/lineitem?type_id=${deploymentId}`,
    memberships: (courseId, deploymentId) =>
      `/mod/lti/services.php/CourseSection/${courseId}/bindings/${deploymentId}/memberships`,
  },
  matchService(path) {
    let m = /^\/mod\/lti\/services\.php\/([^/]+)\/lineitems$/.exec(path);
    if (m) return { kind: 'lineitems', courseId: m[1] as string };
    m = /^\/mod\/lti\/services\.php\/([^/]+)\/lineitems\/([^/]+)\/lineitem(?:\/(scores|results))?$/.exec(
      path,
    );
    if (m)
      return {
        kind: (m[3] as 'scores' | 'results') ?? 'lineitem',
        courseId: m[1] as string,
        itemId: m[2] as string,
      };
    m = /^\/mod\/lti\/services\.php\/CourseSection\/([^/]+)\/bindings\/([^/]+)\/memberships$/.exec(path);
    if (m) return { kind: 'memberships', courseId: m[1] as string, deploymentId: m[2] as string };
    return undefined;
  },
  extraLoginParameters: {},
  ids: {
    clientId: () => alnum(15),
    deploymentId: () => String(++moodleTypeSequence + 1),
    userId: () => String(randomInt(2, 99_999)),
    courseId: () => String(randomInt(2, 9_999)),
    kid: () => hex(10),
    lineItemId: () => String(randomInt(1, 99_999)),
    resourceLinkId: () => String(randomInt(1, 99_999)),
    loginHint: (userId) => userId,
    messageHint: (launchId) =>
      JSON.stringify({ cmid: randomInt(1, 9_999), launchid: `ltilaunch${launchId}_${randomInt(1e8, 1e9)}` }),
  },
};

const blackboard: LtiProfile = {
  name: 'blackboard',
  productFamilyCode: 'BlackboardLearn',
  platformName: 'Blackboard, Inc. (fake)',
  issuer: () => 'https://blackboard.com',
  loginInitiationMethod: 'GET',
  storage: {
    target: 'lti_storage_frame',
    framePath: '/webapps/blackboard/execute/blti/ltiStorageFrame',
    inLaunch: false,
  },
  idTokenLifetimeSeconds: 3600,
  sendsAzp: false,
  tokenScopes: 'refuse',
  score: {
    staleStatus: 400,
    wholeSeconds: false,
    scoreMaximumStatus: 400,
    unknownUserStatus: 400,
    success: 'no-content',
  },
  paths: {
    authorize: '/api/v1/gateway/oidcauth',
    token: '/api/v1/gateway/oauth2/jwttoken',
    jwks: (clientId) => `/api/v1/management/applications/${clientId}/jwks.json`,
    deepLinkReturn: (courseId) =>
      `/webapps/blackboard/execute/blti/deepLinkingResponse?course_id=${courseId}`,
    lineItems: (courseId) => `/learn/api/v1/lti/courses/${courseId}/lineItems`,
    lineItem: (courseId, itemId) => `/learn/api/v1/lti/courses/${courseId}/lineItems/${itemId}`,
    memberships: (courseId) => `/learn/api/v1/lti/external/namesandroles/${courseId}`,
  },
  matchService(path) {
    let m = /^\/learn\/api\/v1\/lti\/courses\/([^/]+)\/lineItems$/.exec(path);
    if (m) return { kind: 'lineitems', courseId: m[1] as string };
    m = /^\/learn\/api\/v1\/lti\/courses\/([^/]+)\/lineItems\/([^/]+)(?:\/(scores|results))?$/.exec(path);
    if (m)
      return {
        kind: (m[3] as 'scores' | 'results') ?? 'lineitem',
        courseId: m[1] as string,
        itemId: m[2] as string,
      };
    m = /^\/learn\/api\/v1\/lti\/external\/namesandroles\/([^/]+)$/.exec(path);
    if (m) return { kind: 'memberships', courseId: m[1] as string };
    return undefined;
  },
  extraLoginParameters: {},
  ids: {
    clientId: () => randomUUID(),
    deploymentId: () => randomUUID(),
    userId: () => hex(16),
    courseId: () => `_${randomInt(2, 9_999)}_1`,
    kid: () => randomUUID(),
    lineItemId: () => `_${randomInt(2, 99_999)}_1`,
    resourceLinkId: () => `_${randomInt(2, 99_999)}_1`,
    loginHint: (userId) =>
      `https%3A%2F%2Flearn.example.test%2Fwebapps%2Fblackboard%2Fexecute%2Fblti%2FlaunchPlacement,${userId},${hex(16)}`,
    messageHint: (launchId) => b64url({ resourceLinkId: launchId, deepLinkLaunch: false, position: -1 }),
  },
};

export const LTI_PROFILES: Record<LtiProfileName, LtiProfile> = { canvas, moodle, blackboard };
