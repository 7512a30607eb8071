/**
 * A fake of the Thinkific Admin API (REST v1) faithful to `shared/reference/openapi/
 * thinkific-admin-v1.yaml` and the Thinkific notes of `shared/reference/apis.md`:
 *
 * - base path `/api/public/v1`; auth by `X-Auth-API-Key` + `X-Auth-Subdomain` (private app) or
 *   `Authorization: Bearer` (OAuth app); bad credentials → 401 `{"error":"Authentication Error"}`,
 *   a plan without API access → 403 `{"error":"Access to Apps is not available on your plan..."}`;
 * - lists paged by `page`/`limit` (default 25, max 250) answering
 *   `{ items, meta: { pagination: { current_page, next_page, prev_page, total_pages, total_items, entries_info } } }`;
 * - status codes per endpoint: POST /users 201, PUT /users/{id} 204, DELETE /users/{id} 204,
 *   POST /enrollments 201, PUT /enrollments/{id} 204, POST /bundles/{id}/enrollments 201 (or 202
 *   when `bundleEnrollmentsQueued`), POST /groups **200**, POST /group_users 201 with an empty body;
 * - both 422 shapes: `{"errors":{"first_name":["can't be blank"]}}` and `{"errors":["Course could
 *   not be found."]}`; 404 `{"error":"Record not found."}`;
 * - `/users/{id}?provider=SSO|OPENID_CONNECT` finds a user by external id;
 * - group membership by **name** (`group_names`), an unknown name → 422 `Invalid group_names`;
 * - a rate limit per site (default 120 requests/minute) counted in fixed windows (the period
 *   starts on a multiple of its length since the epoch, as Rails' Rack::Attack throttles do), a
 *   request over the window's budget answering 429 with `RateLimit-Reset` in the reading chosen by
 *   `resetStyle`: epoch seconds (developers.thinkific.com), or seconds or milliseconds until the
 *   window ends (support.thinkific.dev says milliseconds), since Thinkific's own pages disagree;
 *   `clock` lets a test place a request anywhere in a window (its last 25 ms, say).
 *
 * Duplicate enrollments are allowed, as the real API does not de-duplicate them: a client that
 * does not look before it creates shows up in `enrollments`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeThinkificOptions {
  apiKey?: string;
  subdomain?: string;
  /** OAuth bearer tokens accepted besides the API key. */
  bearerTokens?: string[];
  /** Requests per fixed window; null disables the limit. Default 120 per 60 s. */
  rateLimit?: { requests: number; perSeconds: number } | null;
  /** How `RateLimit-Reset` is written. Default `epoch` (developers.thinkific.com). */
  resetStyle?: 'epoch' | 'seconds' | 'milliseconds';
  /** The rate limiter's clock (epoch milliseconds). Default `Date.now`. */
  clock?: () => number;
  /** Answer POST /bundles/{id}/enrollments with 202 (queued) instead of 201. */
  bundleEnrollmentsQueued?: boolean;
  /** A plan without API access: every call answers 403. */
  noApiAccess?: boolean;
  courses?: Array<{ id: number; name: string }>;
  bundles?: Array<{ id: number; name: string; course_ids: number[] }>;
  port?: number;
  host?: string;
}

export interface FakeUser {
  id: number;
  created_at: string;
  first_name: string;
  last_name: string;
  full_name: string;
  email: string;
  company: string | null;
  roles: string[];
  external_id: string | null;
  external_source: string | null;
  group_ids: number[];
}

export interface FakeEnrollment {
  id: number;
  user_id: number;
  course_id: number;
  /** Set when the enrollment came from a bundle enrollment. */
  bundle_id: number | null;
  activated_at: string | null;
  expiry_date: string | null;
  created_at: string;
  updated_at: string;
}

export interface FakeGroup {
  id: number;
  name: string;
  token: string;
  created_at: string;
}

export interface RequestLogEntry {
  at: number;
  method: string;
  path: string;
  status: number;
  /** The rate-limit window the request was counted in (its start, epoch ms), when limited. */
  window: number | null;
  /** The request's `X-Request-Id`, when it sent one. */
  requestId: string | null;
}

const BASE = '/api/public/v1';
const NOT_FOUND = { error: 'Record not found.' };

export class FakeThinkific {
  /** The site's API key; assign a new one to rotate it (the old one stops working at once). */
  apiKey: string;
  readonly subdomain: string;
  readonly users: FakeUser[] = [];
  readonly enrollments: FakeEnrollment[] = [];
  readonly groups: FakeGroup[] = [];
  readonly courses: Array<{ id: number; name: string }>;
  readonly bundles: Array<{ id: number; name: string; course_ids: number[] }>;
  readonly log: RequestLogEntry[] = [];
  /** While true every request answers 503 (the site is down). */
  down = false;
  rateLimit: { requests: number; perSeconds: number } | null;
  resetStyle: 'epoch' | 'seconds' | 'milliseconds';
  clock: () => number;
  #options: FakeThinkificOptions;
  #server: Server | undefined;
  #bearer: Set<string>;
  #nextId = 1000;
  #window: { start: number; used: number } | undefined;

  constructor(options: FakeThinkificOptions = {}) {
    this.#options = options;
    this.apiKey = options.apiKey ?? randomBytes(16).toString('hex');
    this.subdomain = options.subdomain ?? 'acme-academy';
    this.#bearer = new Set(options.bearerTokens ?? []);
    this.rateLimit = options.rateLimit === undefined ? { requests: 120, perSeconds: 60 } : options.rateLimit;
    this.resetStyle = options.resetStyle ?? 'epoch';
    this.clock = options.clock ?? Date.now;
    this.courses = options.courses ?? [
      { id: 101, name: 'Onboarding Essentials' },
      { id: 102, name: 'Leadership Foundations' },
      { id: 103, name: 'Coaching Conversations' },
    ];
    this.bundles = options.bundles ?? [{ id: 201, name: 'Manager Track', course_ids: [102, 103] }];
  }

  /** Base URL of the API (`http://127.0.0.1:<port>/api/public/v1`). */
  url = '';

  async start(): Promise<this> {
    this.#server = createServer((request, response) => {
      this.#handle(request, response).catch((error) => {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: String(error) }));
      });
    });
    await new Promise<void>((resolve) =>
      this.#server?.listen(this.#options.port ?? 0, this.#options.host ?? '127.0.0.1', resolve),
    );
    const { port } = this.#server.address() as AddressInfo;
    this.url = `http://${this.#options.host ?? '127.0.0.1'}:${port}${BASE}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Requests answered 429 so far. */
  get rejected(): number {
    return this.log.filter((entry) => entry.status === 429).length;
  }

  enrollmentsOf(email: string): FakeEnrollment[] {
    const user = this.users.find((candidate) => candidate.email === email.toLowerCase());
    return user ? this.enrollments.filter((enrollment) => enrollment.user_id === user.id) : [];
  }

  groupNamesOf(email: string): string[] {
    const user = this.users.find((candidate) => candidate.email === email.toLowerCase());
    if (!user) return [];
    return this.groups.filter((group) => user.group_ids.includes(group.id)).map((group) => group.name);
  }

  /** Simulates an admin deleting an enrollment by hand in the Thinkific UI. */
  deleteEnrollment(id: number): void {
    const index = this.enrollments.findIndex((enrollment) => enrollment.id === id);
    if (index >= 0) this.enrollments.splice(index, 1);
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const method = request.method ?? 'GET';
    let window: number | null = null;
    const requestId = request.headers['x-request-id'];
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      this.log.push({
        at: Date.now(),
        method,
        path: url.pathname,
        status,
        window,
        requestId: typeof requestId === 'string' ? requestId : null,
      });
      const text = body === undefined ? '' : JSON.stringify(body);
      response.writeHead(status, {
        ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
        ...headers,
      });
      response.end(text);
    };
    const raw = await readBody(request);
    if (this.down) return send(503, { error: 'Service Unavailable' });
    if (!url.pathname.startsWith(BASE)) return send(404, NOT_FOUND);
    if (!this.#authenticated(request)) return send(401, { error: 'Authentication Error' });
    if (this.#options.noApiAccess) {
      return send(403, { error: 'Access to Apps is not available on your plan. Upgrade to gain access' });
    }
    const limited = this.#count();
    window = limited.window;
    if (limited.reset !== undefined)
      return send(429, { error: 'Too Many Requests' }, { 'RateLimit-Reset': limited.reset });
    let body: Record<string, unknown> = {};
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        return send(400, { error: 'Malformed request body' });
      }
    }
    const path = url.pathname.slice(BASE.length).replace(/\/+$/, '');
    const parts = path.split('/').filter(Boolean);
    const q = (name: string) => url.searchParams.get(`query[${name}]`);
    const now = new Date().toISOString();

    // Users
    if (parts[0] === 'users' && parts.length === 1) {
      if (method === 'GET') {
        let users = this.users;
        const email = q('email');
        if (email) users = users.filter((user) => user.email === email.toLowerCase());
        const groupId = q('group_id');
        if (groupId) users = users.filter((user) => user.group_ids.includes(Number(groupId)));
        const source = q('external_source');
        if (source) users = users.filter((user) => user.external_source === source);
        return send(200, this.#page(users.map(userResponse), url));
      }
      if (method === 'POST') {
        const errors: Record<string, string[]> = {};
        for (const field of ['first_name', 'last_name', 'email'] as const) {
          if (typeof body[field] !== 'string' || !(body[field] as string).trim())
            errors[field] = ["can't be blank"];
        }
        const email = String(body.email ?? '').toLowerCase();
        if (!errors.email && this.users.some((user) => user.email === email)) {
          errors.email = ['has already been taken'];
        }
        if (Object.keys(errors).length) return send(422, { errors });
        const user: FakeUser = {
          id: this.#nextId++,
          created_at: now,
          first_name: String(body.first_name),
          last_name: String(body.last_name),
          full_name: `${body.first_name} ${body.last_name}`,
          email,
          company: typeof body.company === 'string' ? body.company : null,
          roles: Array.isArray(body.roles) ? (body.roles as string[]) : [],
          external_id: typeof body.external_id === 'string' ? body.external_id : null,
          external_source: typeof body.external_id === 'string' ? 'SSO' : null,
          group_ids: [],
        };
        this.users.push(user);
        return send(201, userResponse(user));
      }
    }
    if (parts[0] === 'users' && parts.length === 2) {
      const provider = url.searchParams.get('provider');
      const user = provider
        ? this.users.find((candidate) => candidate.external_id === decodeURIComponent(parts[1] as string))
        : this.users.find((candidate) => candidate.id === Number(parts[1]));
      if (!user) return send(404, NOT_FOUND);
      if (method === 'GET') return send(200, userResponse(user));
      if (method === 'PUT') {
        for (const field of ['first_name', 'last_name'] as const) {
          if (field in body && (typeof body[field] !== 'string' || !(body[field] as string).trim())) {
            return send(422, { errors: { [field]: ["can't be blank"] } });
          }
        }
        if (typeof body.email === 'string') {
          const email = body.email.toLowerCase();
          if (this.users.some((other) => other !== user && other.email === email)) {
            return send(422, { errors: { email: ['has already been taken'] } });
          }
          user.email = email;
        }
        if (typeof body.first_name === 'string') user.first_name = body.first_name;
        if (typeof body.last_name === 'string') user.last_name = body.last_name;
        if (typeof body.external_id === 'string') user.external_id = body.external_id;
        user.full_name = `${user.first_name} ${user.last_name}`;
        return send(204);
      }
      if (method === 'DELETE') {
        this.users.splice(this.users.indexOf(user), 1);
        for (let index = this.enrollments.length - 1; index >= 0; index--) {
          if (this.enrollments[index]?.user_id === user.id) this.enrollments.splice(index, 1);
        }
        return send(204);
      }
    }

    // Enrollments
    if (parts[0] === 'enrollments' && parts.length === 1) {
      if (method === 'GET') {
        let enrollments = this.enrollments;
        const userId = q('user_id');
        if (userId) enrollments = enrollments.filter((enrollment) => enrollment.user_id === Number(userId));
        const courseId = q('course_id');
        if (courseId)
          enrollments = enrollments.filter((enrollment) => enrollment.course_id === Number(courseId));
        const email = q('email');
        if (email) {
          const user = this.users.find((candidate) => candidate.email === email.toLowerCase());
          enrollments = enrollments.filter((enrollment) => enrollment.user_id === user?.id);
        }
        const expired = q('expired');
        if (expired !== null) enrollments = enrollments.filter((e) => isExpired(e) === (expired === 'true'));
        return send(
          200,
          this.#page(
            enrollments.map((e) => this.#enrollmentResponse(e)),
            url,
          ),
        );
      }
      if (method === 'POST') {
        const errors: string[] = [];
        const course = this.courses.find((candidate) => candidate.id === Number(body.course_id));
        if (!course) errors.push('Course could not be found.');
        const user = this.users.find((candidate) => candidate.id === Number(body.user_id));
        if (!user) errors.push('User could not be found.');
        if (errors.length) return send(422, { errors });
        const enrollment = this.#enroll(Number(body.user_id), Number(body.course_id), null, body, now);
        return send(201, this.#enrollmentResponse(enrollment));
      }
    }
    if (parts[0] === 'enrollments' && parts.length === 2) {
      const enrollment = this.enrollments.find((candidate) => candidate.id === Number(parts[1]));
      if (!enrollment) return send(404, NOT_FOUND);
      if (method === 'GET') return send(200, this.#enrollmentResponse(enrollment));
      if (method === 'PUT') {
        if ('activated_at' in body) enrollment.activated_at = (body.activated_at as string | null) ?? null;
        if ('expiry_date' in body) enrollment.expiry_date = (body.expiry_date as string | null) ?? null;
        enrollment.updated_at = now;
        return send(204);
      }
    }

    // Bundles
    if (parts[0] === 'bundles' && parts.length >= 2) {
      const bundle = this.bundles.find((candidate) => candidate.id === Number(parts[1]));
      if (!bundle) return send(404, NOT_FOUND);
      if (parts.length === 2 && method === 'GET') {
        return send(200, {
          id: bundle.id,
          name: bundle.name,
          description: null,
          tagline: null,
          banner_image_url: null,
          course_ids: bundle.course_ids,
          bundle_card_image_url: null,
        });
      }
      if (parts[2] === 'enrollments') {
        if (method === 'GET') {
          let enrollments = this.enrollments.filter((enrollment) => enrollment.bundle_id === bundle.id);
          const userId = q('user_id');
          if (userId) enrollments = enrollments.filter((enrollment) => enrollment.user_id === Number(userId));
          return send(
            200,
            this.#page(
              enrollments.map((e) => this.#enrollmentResponse(e)),
              url,
            ),
          );
        }
        const user = this.users.find((candidate) => candidate.id === Number(body.user_id));
        if (!user) return send(422, { errors: ['User could not be found.'] });
        if (method === 'POST') {
          for (const courseId of bundle.course_ids) this.#enroll(user.id, courseId, bundle.id, body, now);
          return send(this.#options.bundleEnrollmentsQueued ? 202 : 201);
        }
        if (method === 'PUT') {
          for (const enrollment of this.enrollments) {
            if (enrollment.bundle_id !== bundle.id || enrollment.user_id !== user.id) continue;
            if ('activated_at' in body)
              enrollment.activated_at = (body.activated_at as string | null) ?? null;
            if ('expiry_date' in body) enrollment.expiry_date = (body.expiry_date as string | null) ?? null;
            enrollment.updated_at = now;
          }
          return send(204);
        }
      }
    }

    // Courses and products
    if (parts[0] === 'courses' && method === 'GET') {
      if (parts.length === 1) return send(200, this.#page(this.courses.map(courseResponse), url));
      const course = this.courses.find((candidate) => candidate.id === Number(parts[1]));
      return course ? send(200, courseResponse(course)) : send(404, NOT_FOUND);
    }
    if (parts[0] === 'products' && parts.length === 1 && method === 'GET') {
      const products = [
        ...this.courses.map((course) => ({
          id: course.id + 5000,
          name: course.name,
          productable_type: 'Course',
          productable_id: course.id,
        })),
        ...this.bundles.map((bundle) => ({
          id: bundle.id + 5000,
          name: bundle.name,
          productable_type: 'Bundle',
          productable_id: bundle.id,
        })),
      ];
      return send(200, this.#page(products, url));
    }

    // Groups
    if (parts[0] === 'groups' && parts.length === 1) {
      if (method === 'GET') return send(200, this.#page(this.groups, url));
      if (method === 'POST') {
        const name = typeof body.name === 'string' ? body.name.trim() : '';
        if (!name) return send(422, { errors: { name: ["can't be blank"] } });
        if (this.groups.some((group) => group.name === name)) {
          return send(422, { errors: { name: ['has already been taken'] } });
        }
        const group: FakeGroup = {
          id: this.#nextId++,
          name,
          token: randomBytes(6).toString('hex'),
          created_at: now,
        };
        this.groups.push(group);
        return send(200, group);
      }
    }
    if (parts[0] === 'groups' && parts.length === 2 && method === 'GET') {
      const group = this.groups.find((candidate) => candidate.id === Number(parts[1]));
      return group ? send(200, group) : send(404, NOT_FOUND);
    }
    if (parts[0] === 'group_users' && parts.length === 1 && method === 'POST') {
      const user = this.users.find((candidate) => candidate.id === Number(body.user_id));
      if (!user) return send(422, { errors: ['User could not be found.'] });
      const names = Array.isArray(body.group_names) ? (body.group_names as unknown[]) : [];
      const groups = names.map((name) => this.groups.find((group) => group.name === name));
      if (!names.length || groups.some((group) => !group))
        return send(422, { errors: ['Invalid group_names'] });
      for (const group of groups as FakeGroup[]) {
        if (!user.group_ids.includes(group.id)) user.group_ids.push(group.id);
      }
      return send(201);
    }
    return send(404, NOT_FOUND);
  }

  #authenticated(request: IncomingMessage): boolean {
    const authorization = request.headers.authorization;
    if (authorization?.startsWith('Bearer ')) return this.#bearer.has(authorization.slice(7));
    return (
      request.headers['x-auth-api-key'] === this.apiKey &&
      request.headers['x-auth-subdomain'] === this.subdomain
    );
  }

  /**
   * Counts the request in its fixed window. `reset` is set when the window's budget is spent: the
   * `RateLimit-Reset` value, the time until the window ends in the configured reading.
   */
  #count(): { window: number | null; reset?: string } {
    if (!this.rateLimit) return { window: null };
    const { requests, perSeconds } = this.rateLimit;
    const length = perSeconds * 1000;
    const now = this.clock();
    const start = Math.floor(now / length) * length;
    if (this.#window?.start !== start) this.#window = { start, used: 0 };
    if (this.#window.used < requests) {
      this.#window.used++;
      return { window: start };
    }
    const end = start + length;
    const untilMs = end - now;
    if (this.resetStyle === 'milliseconds') return { window: start, reset: String(untilMs) };
    if (this.resetStyle === 'seconds') return { window: start, reset: String(Math.ceil(untilMs / 1000)) };
    return { window: start, reset: String(Math.ceil(end / 1000)) };
  }

  /** Requests answered 429, by window start. */
  rejectedPerWindow(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const entry of this.log) {
      if (entry.status === 429 && entry.window !== null)
        counts.set(entry.window, (counts.get(entry.window) ?? 0) + 1);
    }
    return counts;
  }

  #enroll(
    userId: number,
    courseId: number,
    bundleId: number | null,
    body: Record<string, unknown>,
    now: string,
  ): FakeEnrollment {
    const enrollment: FakeEnrollment = {
      id: this.#nextId++,
      user_id: userId,
      course_id: courseId,
      bundle_id: bundleId,
      activated_at: typeof body.activated_at === 'string' ? body.activated_at : null,
      expiry_date: typeof body.expiry_date === 'string' ? body.expiry_date : null,
      created_at: now,
      updated_at: now,
    };
    this.enrollments.push(enrollment);
    return enrollment;
  }

  #enrollmentResponse(enrollment: FakeEnrollment) {
    const user = this.users.find((candidate) => candidate.id === enrollment.user_id);
    const course = this.courses.find((candidate) => candidate.id === enrollment.course_id);
    return {
      id: enrollment.id,
      user_email: user?.email ?? null,
      user_name: user?.full_name ?? null,
      user_id: enrollment.user_id,
      course_name: course?.name ?? null,
      course_id: enrollment.course_id,
      percentage_completed: 0,
      expired: isExpired(enrollment),
      is_free_trial: enrollment.activated_at === null,
      completed: false,
      started_at: enrollment.created_at,
      activated_at: enrollment.activated_at,
      completed_at: null,
      updated_at: enrollment.updated_at,
      expiry_date: enrollment.expiry_date,
    };
  }

  #page<T>(all: T[], url: URL) {
    const limit = Math.min(250, Math.max(1, Number(url.searchParams.get('limit') ?? 25) || 25));
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const totalPages = Math.max(1, Math.ceil(all.length / limit));
    const items = all.slice((page - 1) * limit, page * limit);
    const first = (page - 1) * limit + 1;
    return {
      items,
      meta: {
        pagination: {
          current_page: page,
          next_page: page < totalPages ? page + 1 : null,
          prev_page: page > 1 ? page - 1 : null,
          total_pages: totalPages,
          total_items: all.length,
          entries_info: items.length
            ? `${first}-${first + items.length - 1} of ${all.length}`
            : `0 of ${all.length}`,
        },
      },
    };
  }
}

function isExpired(enrollment: FakeEnrollment): boolean {
  return enrollment.expiry_date !== null && Date.parse(enrollment.expiry_date) <= Date.now();
}

function userResponse(user: FakeUser) {
  return {
    id: user.id,
    created_at: user.created_at,
    first_name: user.first_name,
    last_name: user.last_name,
    full_name: user.full_name,
    company: user.company,
    email: user.email,
    roles: user.roles,
    avatar_url: null,
    bio: null,
    headline: null,
    affiliate_code: null,
    external_source: user.external_source,
    affiliate_commission: null,
    affiliate_commission_type: null,
    affiliate_payout_email: null,
    administered_course_ids: [],
    custom_profile_fields: [],
  };
}

function courseResponse(course: { id: number; name: string }) {
  return {
    id: course.id,
    name: course.name,
    slug: course.name.toLowerCase().replaceAll(' ', '-'),
    subtitle: null,
    product_id: course.id + 5000,
    description: null,
    chapter_ids: [],
    administrator_user_ids: [],
    instructor_id: null,
    reviews_enabled: false,
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
