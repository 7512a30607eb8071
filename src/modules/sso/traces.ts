/**
 * Login traces: every login attempt, step by step (request, redirect, response received, signature
 * check, claims received, mapping result, user decision, outcome), so support can answer "why
 * can't Jane sign in?" from the id on Jane's error page.
 *
 * A trace spans two HTTP requests (the redirect out, the IdP's answer back), possibly on two hub
 * processes: steps are buffered per request and appended to the row at the end of each.
 * Whatever goes in is redacted first: tokens, codes, assertions' signatures and secrets never land here.
 */
import type { Database } from '../../platform/db/client.ts';
import { newId } from '../../platform/ids.ts';
import { appendTrace, insertTrace } from './repository.ts';

export type TraceStepName =
  | 'request'
  | 'discovery'
  | 'redirect'
  | 'response_received'
  | 'flow_check'
  | 'token_exchange'
  | 'signature_check'
  | 'message_checks'
  | 'replay_check'
  | 'claims_received'
  | 'mapping'
  | 'user_decision'
  | 'outcome'
  /** After the outcome: what the completion did (routing, handing back to an application). */
  | 'completion';

export interface TraceStep {
  at: string;
  step: TraceStepName;
  ok: boolean;
  message: string;
  data?: Record<string, unknown>;
}

/**
 * A failed login: `code` is stable, `reason` is for the admin (trace, logs), `userMessage` is what
 * the person signing in sees (no internals, no hints that help an attacker).
 */
export class LoginFailure extends Error {
  override name = 'LoginFailure';
  readonly code: string;
  readonly step: TraceStepName;
  readonly userMessage: string;
  readonly data: Record<string, unknown> | undefined;
  readonly status: number;

  constructor(options: {
    code: string;
    step: TraceStepName;
    reason: string;
    userMessage?: string;
    data?: Record<string, unknown>;
    status?: number;
    cause?: unknown;
  }) {
    super(options.reason, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.step = options.step;
    this.userMessage =
      options.userMessage ?? 'We could not sign you in with your organization’s identity provider.';
    this.data = options.data;
    this.status = options.status ?? 400;
  }
}

const SENSITIVE_KEY =
  /(secret|password|passwd|token|signature|signaturevalue|assertion|samlresponse|samlrequest|code_verifier|codeverifier|private|authorization|cookie|^code$|^nonce$|^state$|relaystate|x509|certificate)/i;

/** Deep copy with sensitive members replaced by `[redacted]`. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[truncated]';
  if (Array.isArray(value)) return value.slice(0, 200).map((item) => redact(item, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = SENSITIVE_KEY.test(key) ? '[redacted]' : redact(item, depth + 1);
    }
    return out;
  }
  if (typeof value === 'string' && value.length > 2000) return `${value.slice(0, 2000)}...`;
  return value;
}

interface TraceBase {
  connectionId: string | null;
  protocol: string;
  ip: string | null;
  userAgent: string | null;
}

export class LoginTrace {
  readonly organizationId: string;
  #id: string;
  #pending: TraceStep[] = [];
  #changes: Record<string, unknown> = {};
  #isNew: boolean;
  #base: TraceBase;

  private constructor(id: string, organizationId: string, isNew: boolean, base: TraceBase) {
    this.#id = id;
    this.organizationId = organizationId;
    this.#isNew = isNew;
    this.#base = base;
  }

  get id(): string {
    return this.#id;
  }

  static start(input: {
    organizationId: string;
    connectionId: string | null;
    protocol: string;
    ip?: string | undefined;
    userAgent?: string | undefined;
  }): LoginTrace {
    return new LoginTrace(newId('trace'), input.organizationId, true, {
      connectionId: input.connectionId,
      protocol: input.protocol,
      ip: input.ip ?? null,
      userAgent: input.userAgent?.slice(0, 300) ?? null,
    });
  }

  /** Continues a trace begun by another request (possibly another process). */
  static resume(id: string, organizationId: string): LoginTrace {
    return new LoginTrace(id, organizationId, false, {
      connectionId: null,
      protocol: '',
      ip: null,
      userAgent: null,
    });
  }

  /**
   * Turns a resumed trace into a new one, keeping the steps this request added so far: for an IdP
   * answer that turned out not to be the answer of the login it names (a replay, a double submit,
   * a second process losing the race to consume the flow). The login it names keeps its own trace
   * untouched, and the attempt gets an id of its own for its error page. Call before `flush`.
   */
  detach(input: {
    connectionId: string;
    protocol: string;
    ip?: string | undefined;
    userAgent?: string | undefined;
  }): void {
    if (this.#isNew) return;
    this.#id = newId('trace');
    this.#isNew = true;
    this.#base = {
      connectionId: input.connectionId,
      protocol: input.protocol,
      ip: input.ip ?? null,
      userAgent: input.userAgent?.slice(0, 300) ?? null,
    };
  }

  step(step: TraceStepName, ok: boolean, message: string, data?: Record<string, unknown>): void {
    this.#pending.push({
      at: new Date().toISOString(),
      step,
      ok,
      message,
      ...(data ? { data: redact(data) as Record<string, unknown> } : {}),
    });
  }

  set(changes: { email?: string | null; subject?: string | null; userId?: string | null }): void {
    Object.assign(this.#changes, changes);
  }

  succeed(): void {
    Object.assign(this.#changes, {
      status: 'succeeded',
      finishedAt: new Date(),
      errorCode: null,
      reason: null,
    });
  }

  fail(code: string, reason: string): void {
    Object.assign(this.#changes, { status: 'failed', finishedAt: new Date(), errorCode: code, reason });
  }

  /** Writes what this request added. Never throws: a trace must not break a login. */
  async flush(database: Database): Promise<void> {
    const steps = this.#pending.splice(0);
    const changes = this.#changes;
    this.#changes = {};
    if (this.#isNew) {
      this.#isNew = false;
      await insertTrace(database.db, {
        organizationId: this.organizationId,
        id: this.id,
        ...this.#base,
        status: 'started',
        steps: steps as unknown as Array<Record<string, unknown>>,
        ...changes,
      });
      return;
    }
    if (steps.length === 0 && Object.keys(changes).length === 0) return;
    await appendTrace(
      database.db,
      this.organizationId,
      this.id,
      steps as unknown as Array<Record<string, unknown>>,
      changes,
    );
  }
}
