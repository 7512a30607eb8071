/**
 * Thinkific webhooks, the "completions in" half of issue 18, attached to the Thinkific Admin API
 * fake (`./server.ts`) without editing it: `attachThinkificWebhooks(fake)` starts a front server
 * that serves the Webhooks API v2 and passes `/api/public/v1/*` through to the fake, and delivers
 * signed events built from the fake's users, courses and enrollments.
 *
 * - Webhooks API v2 (Thinkific's OpenAPI "Thinkific Webhooks API" 2.0.1, servers
 *   `https://platform.thinkific.com/api/v2`; https://developers.thinkific.com/api/using-webhooks/):
 *   `POST /api/v2/webhooks {topic, target_url}` → 201 `{id, status:"active", topic, target_url,
 *   created_at, created_by, updated_at, updated_by}`; an unknown topic → 422 `{"errors":{"topic":
 *   "invalid format"}}`, a target that is not HTTPS ("A Webhook's target URL must use SSL") → 422
 *   `{"errors":{"url":"is not valid"}}` (both the spec's examples; PUT's 422 lists arrays, as its
 *   example does); `allowHttpTargets: true` lets a test register its loopback receiver. `GET`
 *   (`items` + `meta.page{has_next, next_page, page_items, total_items}`), `GET/PUT/DELETE
 *   /{id}` (204; unknown id 404 `{"error":"Record not found."}`). Auth: a bearer token from
 *   `bearerTokens` (the spec's OAuthAccessToken) or the private app's `X-Auth-API-Key` +
 *   `X-Auth-Subdomain`; otherwise 401 `{"error":"Authentication Error"}`. The same topic and
 *   target may be registered twice, and then every event is delivered twice.
 * - Topics (support.thinkific.dev "Webhooks Documentation"): the learning ones are
 *   `enrollment.created|trial|progress|completed`, `lesson.completed`, `quiz.attempted`,
 *   `user.signup|signin|updated`; the rest are accepted for registration.
 * - Deliveries: POST of `{id, resource, action, tenant_id, created_at, payload}` (payload shapes of
 *   the Thinkific samples: enrollment `{id, user{id,email,first_name,last_name}, course{id,name},
 *   course_id, percentage_completed (a string, "24.0" in the sample), activated_at, started_at,
 *   completed_at, expiry_date, free_trial, created_at, updated_at}`, lesson.completed `{chapter,
 *   course, enrollment{id}, lesson{id,name,position,type}, user}`) with headers `X-Thinkific-Topic`,
 *   `X-Thinkific-Subdomain` and `X-Thinkific-Hmac-Sha256` = hex HMAC-SHA256 of the raw body keyed
 *   with the site's API key (an OAuth app's client secret: `signingSecret`), as Thinkific's "Using
 *   Webhooks" page describes ("a hexadecimal-encoded X-Thinkific-Hmac-Sha256 header"); no timestamp
 *   is signed, so replays can only be caught by the event `id`.
 * - Variants a receiver must survive: `{ duplicate: true }` sends the same bytes twice (same `id`),
 *   `deliverOutOfOrder` sends a completion then an earlier 80 % progress event, and `{ forgery }`
 *   signs with the wrong key, alters the body after signing, or leaves the signature out.
 * Thinkific's retry policy is not documented in the stored pages: each delivery is one attempt,
 * recorded in `deliveries` with the receiver's status; `redeliver` repeats one.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { FakeClock } from '../fake-clock.ts';
import { type FrontAnswer, type FrontRequest, startFrontServer } from '../front-server.ts';
import type { FakeEnrollment, FakeThinkific, FakeUser } from './server.ts';

export const LEARNING_TOPICS = [
  'enrollment.created',
  'enrollment.trial',
  'enrollment.progress',
  'enrollment.completed',
  'lesson.completed',
  'quiz.attempted',
  'user.signup',
  'user.signin',
  'user.updated',
] as const;

export const TOPICS = new Set<string>([
  ...LEARNING_TOPICS,
  'lead.created',
  'order.created',
  'order_transaction.succeeded',
  'order_transaction.failed',
  'order_transaction.refunded',
  'subscription.cancelled',
  'subscription.past_due',
  'subscription.unpaid',
  'course.created',
  'course.deleted',
  'course.updated',
  'app.uninstalled',
  'product.created',
  'product.deleted',
  'product.updated',
  'plan.updated',
]);

export interface Webhook {
  id: string;
  status: 'active';
  topic: string;
  target_url: string;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
}

export interface WebhookEvent {
  id: string;
  resource: string;
  action: string;
  tenant_id: string;
  created_at: string;
  payload: Record<string, unknown>;
}

export type Forgery = 'wrong-secret' | 'altered-body' | 'missing-signature';

export interface Delivery {
  webhookId: string;
  targetUrl: string;
  topic: string;
  eventId: string;
  body: string;
  headers: Record<string, string>;
  forgery: Forgery | undefined;
  /** The receiver's status, or 0 when it could not be reached. */
  status: number;
  responseBody: string;
}

export interface ThinkificWebhooksOptions {
  clock?: FakeClock;
  /** Key of the HMAC (default: the site's API key; an OAuth app's client secret otherwise). */
  signingSecret?: string;
  /** OAuth bearer tokens the Webhooks API accepts besides the API key headers. */
  bearerTokens?: string[];
  /** Accept `http://` targets (a test's loopback receiver); Thinkific requires HTTPS. */
  allowHttpTargets?: boolean;
  tenantId?: string;
  /** The admin user id Thinkific records as `created_by`. */
  adminUserId?: string;
}

export interface ThinkificWebhooks {
  /** The Admin API v1 through the front (`…/api/public/v1`). */
  url: string;
  /** The Webhooks API v2 base (`…/api/v2`). */
  webhooksUrl: string;
  readonly webhooks: Webhook[];
  readonly deliveries: Delivery[];
  readonly signingSecret: string;
  readonly clock: FakeClock;
  /** Percent complete the events report per enrollment (the Admin API fake does not track it). */
  readonly progress: Map<number, { percentage: number; completedAt: string | null }>;
  /** Builds the event of `topic` for an enrollment (enrollment.* and lesson.completed) or a user (user.*). */
  event(
    topic: string,
    subject: { enrollmentId?: number; userId?: number },
    options?: EventOptions,
  ): WebhookEvent;
  /** POSTs an event to every active webhook of its topic; resolves when all answered. */
  deliver(
    topic: string,
    event: WebhookEvent,
    options?: { duplicate?: boolean; forgery?: Forgery },
  ): Promise<Delivery[]>;
  /** Sends a recorded delivery again, byte for byte (a retried or duplicated delivery). */
  redeliver(delivery: Delivery): Promise<Delivery>;
  /** Progress events up to 100 % and the completion, in order. */
  completeEnrollment(enrollmentId: number, options?: { steps?: number[] }): Promise<Delivery[]>;
  /** The completion first, then a progress event of 80 % created a minute earlier. */
  deliverOutOfOrder(enrollmentId: number): Promise<Delivery[]>;
  /** Signature Thinkific would send for these bytes. */
  sign(body: string): string;
  close(): Promise<void>;
}

export interface EventOptions {
  /** Progress percentage (enrollment.progress), default the enrollment's current progress. */
  percentage?: number;
  /** The event's `created_at`, default now on the clock. */
  at?: number;
  lesson?: { id: number; name: string; position?: number; type?: string };
  chapter?: { id: number; name: string };
}

export async function attachThinkificWebhooks(
  fake: FakeThinkific,
  options: ThinkificWebhooksOptions = {},
): Promise<ThinkificWebhooks> {
  if (!fake.url) throw new Error('attachThinkificWebhooks: start the Thinkific fake first');
  const clock = options.clock ?? new FakeClock();
  const signingSecret = options.signingSecret ?? fake.apiKey;
  const bearer = new Set(options.bearerTokens ?? []);
  const tenantId = options.tenantId ?? '73394';
  const adminUserId = options.adminUserId ?? '156118';
  const backOrigin = new URL(fake.url).origin;
  const webhooks: Webhook[] = [];
  const deliveries: Delivery[] = [];
  const progress = new Map<number, { percentage: number; completedAt: string | null }>();
  let sequence = 0;

  const notFound: FrontAnswer = { status: 404, body: { error: 'Record not found.' } };
  const now = () => clock.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  /** Thinkific's ids: a timestamp to the millisecond plus digits (`20190131192005552012814`). */
  const newId = (at = now()) =>
    `${iso(at).replace(/\D/g, '').slice(0, 17)}${String(sequence++ % 1_000_000).padStart(6, '0')}`;

  function authenticated(request: FrontRequest): boolean {
    const authorization = String(request.headers.authorization ?? '');
    if (authorization.startsWith('Bearer ')) return bearer.has(authorization.slice(7));
    return (
      request.headers['x-auth-api-key'] === fake.apiKey &&
      request.headers['x-auth-subdomain'] === fake.subdomain
    );
  }

  function checkWebhook(body: Record<string, unknown>, arrays: boolean): FrontAnswer | undefined {
    const wrap = (message: string) => (arrays ? [message] : message);
    if (typeof body.topic !== 'string' || !TOPICS.has(body.topic)) {
      return { status: 422, body: { errors: { topic: wrap('invalid format') } } };
    }
    let target: URL | undefined;
    try {
      target = new URL(String(body.target_url));
    } catch {
      target = undefined;
    }
    const secure =
      target?.protocol === 'https:' || (options.allowHttpTargets === true && target?.protocol === 'http:');
    if (!secure) return { status: 422, body: { errors: { url: wrap('is not valid') } } };
    return undefined;
  }

  function webhooksApi(request: FrontRequest): FrontAnswer | undefined {
    const match = /^\/api\/v2\/webhooks(?:\/([^/]+))?\/?$/.exec(request.url.pathname);
    if (!match) return request.url.pathname.startsWith('/api/v2/') ? notFound : undefined;
    if (!authenticated(request)) return { status: 401, body: { error: 'Authentication Error' } };
    let body: Record<string, unknown> = {};
    if (request.raw.length) {
      try {
        body = JSON.parse(request.raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        return { status: 400, body: { error: 'Malformed request body' } };
      }
    }
    const id = match[1];
    if (id === undefined) {
      if (request.method === 'GET') {
        const limit = Math.max(1, Number(request.url.searchParams.get('limit') ?? 25) || 25);
        const after = request.url.searchParams.get('next');
        const start = after ? webhooks.findIndex((webhook) => webhook.id === after) + 1 : 0;
        const items = webhooks.slice(start, start + limit);
        const hasNext = start + limit < webhooks.length;
        return {
          status: 200,
          body: {
            items,
            meta: {
              page: {
                has_next: hasNext,
                next_page: hasNext ? (items.at(-1)?.id ?? '') : '',
                page_items: items.length,
                total_items: webhooks.length,
              },
            },
          },
        };
      }
      if (request.method !== 'POST') return { status: 405, body: { error: 'Method not allowed' } };
      const refused = checkWebhook(body, false);
      if (refused) return refused;
      const at = iso(now());
      const webhook: Webhook = {
        id: newId(),
        status: 'active',
        topic: String(body.topic),
        target_url: String(body.target_url),
        created_at: at,
        created_by: adminUserId,
        updated_at: at,
        updated_by: adminUserId,
      };
      webhooks.push(webhook);
      return { status: 201, body: webhook };
    }
    const webhook = webhooks.find((candidate) => candidate.id === id);
    if (!webhook) return notFound;
    if (request.method === 'GET') return { status: 200, body: webhook };
    if (request.method === 'PUT') {
      const merged = {
        topic: body.topic ?? webhook.topic,
        target_url: body.target_url ?? webhook.target_url,
      };
      const refused = checkWebhook(merged, true);
      if (refused) return refused;
      Object.assign(webhook, merged, { updated_at: iso(now()), updated_by: adminUserId });
      return { status: 200, body: webhook };
    }
    if (request.method === 'DELETE') {
      webhooks.splice(webhooks.indexOf(webhook), 1);
      return { status: 204 };
    }
    return { status: 405, body: { error: 'Method not allowed' } };
  }

  const front = await startFrontServer(backOrigin, (request) => webhooksApi(request));

  // -----------------------------------------------------------------------------------------------
  // Events
  // -----------------------------------------------------------------------------------------------

  const userSummary = (user: FakeUser | undefined) => ({
    email: user?.email ?? null,
    first_name: user?.first_name ?? null,
    id: user?.id ?? null,
    last_name: user?.last_name ?? null,
  });

  function enrollmentPayload(
    enrollment: FakeEnrollment,
    at: number,
    percentage: number,
    completedAt: string | null,
  ) {
    const course = fake.courses.find((candidate) => candidate.id === enrollment.course_id);
    return {
      activated_at: enrollment.activated_at,
      completed_at: completedAt,
      course: { id: enrollment.course_id, name: course?.name ?? null },
      course_id: enrollment.course_id,
      created_at: enrollment.created_at,
      expiry_date: enrollment.expiry_date,
      free_trial: enrollment.activated_at === null,
      id: enrollment.id,
      percentage_completed: percentage.toFixed(1),
      started_at: enrollment.activated_at ?? enrollment.created_at,
      updated_at: iso(at),
      user: userSummary(fake.users.find((user) => user.id === enrollment.user_id)),
    };
  }

  function event(
    topic: string,
    subject: { enrollmentId?: number; userId?: number },
    eventOptions: EventOptions = {},
  ) {
    const [resource, action] = topic.split('.') as [string, string];
    if (!TOPICS.has(topic)) throw new Error(`thinkific webhooks fake: unknown topic ${topic}`);
    const at = eventOptions.at ?? now();
    const envelope = (payload: Record<string, unknown>): WebhookEvent => ({
      id: newId(at),
      resource,
      action,
      tenant_id: tenantId,
      created_at: iso(at),
      payload,
    });
    if (resource === 'user') {
      const user = fake.users.find((candidate) => candidate.id === subject.userId);
      if (!user) throw new Error(`thinkific webhooks fake: no user ${String(subject.userId)}`);
      return envelope({
        administered_course_ids: null,
        avatar_url: null,
        bio: null,
        company: user.company ?? '',
        created_at: user.created_at,
        custom_profile_fields: [],
        email: user.email,
        external_source: user.external_source,
        first_name: user.first_name,
        headline: null,
        id: user.id,
        last_name: user.last_name,
        roles: user.roles,
      });
    }
    const enrollment = fake.enrollments.find((candidate) => candidate.id === subject.enrollmentId);
    if (!enrollment)
      throw new Error(`thinkific webhooks fake: no enrollment ${String(subject.enrollmentId)}`);
    const state = progress.get(enrollment.id) ?? { percentage: 0, completedAt: null };
    if (resource === 'lesson' || resource === 'quiz') {
      const course = fake.courses.find((candidate) => candidate.id === enrollment.course_id);
      return envelope({
        chapter: eventOptions.chapter ?? { id: enrollment.course_id * 10 + 1, name: 'Chapter 1' },
        course: { id: enrollment.course_id, name: course?.name ?? null },
        enrollment: { id: enrollment.id },
        lesson: {
          position: 0,
          type: 'Video',
          ...(eventOptions.lesson ?? { id: enrollment.course_id * 100 + 1, name: 'Lesson 1' }),
        },
        user: userSummary(fake.users.find((user) => user.id === enrollment.user_id)),
      });
    }
    if (action === 'completed') {
      const completedAt = iso(at);
      return envelope(enrollmentPayload(enrollment, at, 100, completedAt));
    }
    const percentage = eventOptions.percentage ?? state.percentage;
    // A progress event from before the completion (a late delivery) carries no completion date.
    const completedAt =
      action === 'progress' && state.completedAt !== null && Date.parse(state.completedAt) <= at
        ? state.completedAt
        : null;
    return envelope(enrollmentPayload(enrollment, at, percentage, completedAt));
  }

  function sign(body: string, key = signingSecret): string {
    return createHmac('sha256', key).update(body, 'utf8').digest('hex');
  }

  async function send(
    webhook: Pick<Webhook, 'id' | 'target_url' | 'topic'>,
    eventId: string,
    body: string,
    headers: Record<string, string>,
    forgery: Forgery | undefined,
  ): Promise<Delivery> {
    let status = 0;
    let responseBody = '';
    try {
      const response = await fetch(webhook.target_url, { method: 'POST', headers, body });
      status = response.status;
      responseBody = await response.text();
    } catch {
      status = 0;
    }
    const delivery: Delivery = {
      webhookId: webhook.id,
      targetUrl: webhook.target_url,
      topic: webhook.topic,
      eventId,
      body,
      headers,
      forgery,
      status,
      responseBody,
    };
    deliveries.push(delivery);
    return delivery;
  }

  async function deliver(
    topic: string,
    built: WebhookEvent,
    deliverOptions: { duplicate?: boolean; forgery?: Forgery } = {},
  ): Promise<Delivery[]> {
    const body = JSON.stringify(built);
    const forgery = deliverOptions.forgery;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-thinkific-topic': topic,
      'x-thinkific-subdomain': fake.subdomain,
    };
    let sent = body;
    if (forgery === 'wrong-secret')
      headers['x-thinkific-hmac-sha256'] = sign(body, randomBytes(16).toString('hex'));
    else if (forgery === 'altered-body') {
      headers['x-thinkific-hmac-sha256'] = sign(body);
      sent = body
        .replace(/"percentage_completed":"[^"]*"/, '"percentage_completed":"100.0"')
        .replace(/}$/, ',"x":1}');
    } else if (forgery !== 'missing-signature') headers['x-thinkific-hmac-sha256'] = sign(body);
    const out: Delivery[] = [];
    for (const webhook of webhooks.filter(
      (candidate) => candidate.topic === topic && candidate.status === 'active',
    )) {
      out.push(await send(webhook, built.id, sent, headers, forgery));
      if (deliverOptions.duplicate) out.push(await send(webhook, built.id, sent, headers, forgery));
    }
    return out;
  }

  async function deliverProgress(enrollmentId: number, percentage: number, at = now()): Promise<Delivery[]> {
    const state = progress.get(enrollmentId) ?? { percentage: 0, completedAt: null };
    progress.set(enrollmentId, { ...state, percentage: Math.max(state.percentage, percentage) });
    return deliver('enrollment.progress', event('enrollment.progress', { enrollmentId }, { percentage, at }));
  }

  async function deliverCompleted(enrollmentId: number, at = now()): Promise<Delivery[]> {
    progress.set(enrollmentId, { percentage: 100, completedAt: iso(at) });
    return deliver('enrollment.completed', event('enrollment.completed', { enrollmentId }, { at }));
  }

  return {
    url: fake.url.replace(backOrigin, front.origin),
    webhooksUrl: `${front.origin}/api/v2`,
    webhooks,
    deliveries,
    signingSecret,
    clock,
    progress,
    event,
    deliver,
    sign: (body) => sign(body),
    redeliver: (delivery) =>
      send(
        { id: delivery.webhookId, target_url: delivery.targetUrl, topic: delivery.topic },
        delivery.eventId,
        delivery.body,
        delivery.headers,
        delivery.forgery,
      ),
    async completeEnrollment(enrollmentId, completeOptions = {}) {
      const out: Delivery[] = [];
      for (const step of completeOptions.steps ?? [50, 100])
        out.push(...(await deliverProgress(enrollmentId, step)));
      out.push(...(await deliverCompleted(enrollmentId)));
      return out;
    },
    async deliverOutOfOrder(enrollmentId) {
      const at = now();
      const out = await deliverCompleted(enrollmentId, at);
      out.push(
        ...(await deliver(
          'enrollment.progress',
          event('enrollment.progress', { enrollmentId }, { percentage: 80, at: at - 60_000 }),
        )),
      );
      return out;
    },
    close: () => front.close(),
  };
}
