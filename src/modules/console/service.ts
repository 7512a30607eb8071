/**
 * Console access: members (a person and their console role), sessions (an HttpOnly cookie whose
 * SHA-256 is stored, with an expiry) and one-time login links (first-run bootstrap from the CLI).
 *
 * Roles map to admin API scopes, so the console calls the same /api/v1 routes as an API key:
 * `owner` (everything, including granting console roles), `admin` (everything else), `support`
 * (read, plus retries).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { and, asc, eq, isNull, lt, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database, Tx } from '../../platform/db/client.ts';
import { sqlState, UNIQUE_VIOLATION } from '../../platform/db/client.ts';
import { Conflict, Forbidden, InvalidInput, NotFound } from '../../platform/errors.ts';
import type { ApiScope, Principal } from '../../platform/http/types.ts';
import { newId } from '../../platform/ids.ts';
import { hashToken, newToken } from '../../platform/secret-box.ts';
import type { Actor } from '../events/contracts.ts';
import type { EventLog } from '../events/service.ts';
import { consoleLoginLinks, consoleMembers, consoleSessions } from './schema.ts';

export const CONSOLE_ROLES = ['owner', 'admin', 'support'] as const;
export type ConsoleRole = (typeof CONSOLE_ROLES)[number];

/** The admin API scopes a console role carries. */
export const ROLE_SCOPES: Record<ConsoleRole, readonly ApiScope[]> = {
  owner: ['owner', 'admin', 'read'],
  admin: ['admin', 'read'],
  support: ['read', 'retry'],
};

export const consoleMemberSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    userId: z.string().nullable().describe('Bound on first SSO sign-in, or given at grant time.'),
    role: z.enum(CONSOLE_ROLES),
    grantedBy: z.string().nullable(),
    lastSignInAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'ConsoleMember' });
export type ConsoleMemberView = z.output<typeof consoleMemberSchema>;

export const grantConsoleRoleBody = z
  .object({
    email: z.email().max(320).describe('The person’s email at their organization (their SSO email).'),
    role: z.enum(CONSOLE_ROLES),
    userId: z
      .string()
      .min(1)
      .optional()
      .describe('Switchboard user id (usr_...), when known; otherwise bound on first sign-in.'),
  })
  .strict()
  .meta({ id: 'GrantConsoleRole' });

export const consoleSessionSchema = z
  .object({
    person: z.object({
      name: z.string(),
      email: z.string().nullable(),
      userId: z.string().nullable(),
      memberId: z.string().nullable(),
    }),
    role: z.enum(CONSOLE_ROLES),
    scopes: z.array(z.string()),
    method: z.enum(['sso', 'login_link']),
    csrfToken: z.string().describe('Send as the x-csrf-token header on every mutating request.'),
    expiresAt: z.string(),
  })
  .meta({ id: 'ConsoleSession' });
export type ConsoleSessionView = z.output<typeof consoleSessionSchema>;

export interface ConsolePrincipal extends Principal {
  kind: 'console';
  sessionId: string;
  role: ConsoleRole;
  csrfToken: string;
}

type SessionRow = typeof consoleSessions.$inferSelect;
type MemberRow = typeof consoleMembers.$inferSelect;

/** How often `last_seen_at` is written for a busy session. */
const LAST_SEEN_RESOLUTION_MS = 60_000;

/**
 * The CSRF token of a session: derived from the secret cookie value, so only a page that was
 * given it by /admin/auth/session (same origin) can send it; a cross-site form cannot.
 */
export function csrfTokenOf(sessionToken: string): string {
  return createHash('sha256').update(`switchboard-console-csrf:${sessionToken}`).digest('base64url');
}

export function csrfTokenMatches(expected: string, given: string | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export class ConsoleService {
  readonly #database: Database;
  readonly #events: EventLog;
  readonly #sessionTtlMs: number;
  readonly #linkTtlMs: number;
  readonly #publicUrl: string;
  readonly #lastSeenWrites = new Map<string, number>();

  constructor(deps: {
    database: Database;
    events: EventLog;
    sessionTtlSeconds: number;
    loginLinkTtlSeconds: number;
    publicUrl: string;
  }) {
    this.#database = deps.database;
    this.#events = deps.events;
    this.#sessionTtlMs = deps.sessionTtlSeconds * 1000;
    this.#linkTtlMs = deps.loginLinkTtlSeconds * 1000;
    this.#publicUrl = deps.publicUrl;
  }

  // ---- members -------------------------------------------------------------------------------

  async listMembers(): Promise<ConsoleMemberView[]> {
    const rows = await this.#database.db.select().from(consoleMembers).orderBy(asc(consoleMembers.email));
    return rows.map(memberView);
  }

  async hasOwner(): Promise<boolean> {
    const [row] = await this.#database.db
      .select({ id: consoleMembers.id })
      .from(consoleMembers)
      .where(eq(consoleMembers.role, 'owner'))
      .limit(1);
    return Boolean(row);
  }

  /** Grants a console role to a person (by email), or changes the role they have. */
  async grant(
    input: { email: string; role: ConsoleRole; userId?: string | undefined },
    actor: Actor,
  ): Promise<{ member: ConsoleMemberView; created: boolean }> {
    const email = input.email.trim().toLowerCase();
    try {
      return await this.#database.transaction(async (tx) => {
        const [existing] = await tx
          .select()
          .from(consoleMembers)
          .where(eq(consoleMembers.email, email))
          .for('update');
        if (existing) {
          if (existing.role === 'owner' && input.role !== 'owner') await assertAnotherOwner(tx, existing.id);
          const [row] = await tx
            .update(consoleMembers)
            .set({
              role: input.role,
              userId: input.userId ?? existing.userId,
              updatedAt: new Date(),
            })
            .where(eq(consoleMembers.id, existing.id))
            .returning();
          const member = memberView(row as MemberRow);
          await tx
            .update(consoleSessions)
            .set({ role: input.role })
            .where(eq(consoleSessions.memberId, existing.id));
          await this.#append(tx, 'console.member_role_changed', actor, member.id, {
            member,
            before: { role: existing.role },
          });
          return { member, created: false };
        }
        const [row] = await tx
          .insert(consoleMembers)
          .values({
            id: newId('consoleMember'),
            email,
            userId: input.userId ?? null,
            role: input.role,
            grantedBy: actor.name ?? actor.id ?? actor.type,
          })
          .returning();
        const member = memberView(row as MemberRow);
        await this.#append(tx, 'console.member_granted', actor, member.id, { member });
        return { member, created: true };
      });
    } catch (error) {
      if (sqlState(error) === UNIQUE_VIOLATION) {
        throw new Conflict({
          code: 'console_member_user_taken',
          detail: `User ${input.userId} already has a console role under another email.`,
          field: 'userId',
          fix: 'Change the role of that member instead, or omit userId.',
        });
      }
      throw error;
    }
  }

  /** Takes a person's console role away and ends their console sessions at once. */
  async revoke(id: string, actor: Actor): Promise<void> {
    await this.#database.transaction(async (tx) => {
      const [row] = await tx.select().from(consoleMembers).where(eq(consoleMembers.id, id)).for('update');
      if (!row) {
        throw new NotFound({
          code: 'console_member_not_found',
          detail: `No console member with id "${id}".`,
          fix: 'List members (GET /api/v1/console/members) to find the right id.',
        });
      }
      if (row.role === 'owner') await assertAnotherOwner(tx, row.id);
      await tx.delete(consoleSessions).where(eq(consoleSessions.memberId, id));
      await tx.delete(consoleMembers).where(eq(consoleMembers.id, id));
      await this.#append(tx, 'console.member_revoked', actor, id, { member: memberView(row) });
    });
  }

  // ---- login links (first-run bootstrap) -------------------------------------------------------

  /** A one-time link that signs in as owner. Printed by `switchboard admin login-link`. */
  async createLoginLink(actor: Actor): Promise<{ url: string; expiresAt: string }> {
    const token = newToken('sbl');
    const expiresAt = new Date(Date.now() + this.#linkTtlMs);
    await this.#database.transaction(async (tx) => {
      const id = newId('consoleLoginLink');
      await tx.insert(consoleLoginLinks).values({
        id,
        tokenHash: hashToken(token),
        createdBy: actor.name ?? actor.type,
        expiresAt,
      });
      await this.#events.append(tx, {
        organizationId: null,
        type: 'console.login_link_created',
        actor,
        subjectType: 'console_login_link',
        subjectId: id,
        data: { expiresAt: expiresAt.toISOString() },
      });
    });
    return { url: `${this.#publicUrl}/admin/sign-in/link#${token}`, expiresAt: expiresAt.toISOString() };
  }

  /** Uses a login link once; the session it opens is an owner's, named after the link. */
  async signInWithLink(token: string, ip: string): Promise<{ token: string; session: SessionRow }> {
    return this.#database.transaction(async (tx) => {
      const [link] = await tx
        .update(consoleLoginLinks)
        .set({ usedAt: new Date() })
        .where(
          and(
            eq(consoleLoginLinks.tokenHash, hashToken(token)),
            isNull(consoleLoginLinks.usedAt),
            sql`${consoleLoginLinks.expiresAt} > now()`,
          ),
        )
        .returning();
      if (!link) {
        throw new Forbidden({
          code: 'login_link_invalid',
          detail: 'This sign-in link is unknown, already used or expired.',
          fix: 'Run `switchboard admin login-link` again for a new link (it works once, for a limited time).',
        });
      }
      const opened = await this.#openSession(tx, {
        memberId: null,
        userId: null,
        email: null,
        name: `login link (${link.createdBy})`,
        role: 'owner',
        method: 'login_link',
        ip,
      });
      await this.#events.append(tx, {
        organizationId: null,
        type: 'console.signed_in',
        actor: { type: 'console', id: opened.session.id, name: opened.session.name, ip },
        subjectType: 'console_session',
        subjectId: opened.session.id,
        data: { method: 'login_link', role: 'owner', linkId: link.id },
      });
      return opened;
    });
  }

  // ---- sessions --------------------------------------------------------------------------------

  /**
   * Opens a session for a person who signed in through SSO. The member is found by user id, or
   * by email for a grant not yet bound to a user, which needs an email the IdP and organization
   * vouch for (`email_verified`): an unverified email could belong to anyone.
   */
  async signInWithSso(
    person: { userId: string; email: string | undefined; emailVerified: boolean; name: string | undefined },
    ip: string,
  ): Promise<{ token: string; session: SessionRow }> {
    return this.#database.transaction(async (tx) => {
      let [member] = await tx
        .select()
        .from(consoleMembers)
        .where(eq(consoleMembers.userId, person.userId))
        .for('update');
      const email = person.email?.toLowerCase();
      if (!member && email && person.emailVerified) {
        [member] = await tx
          .select()
          .from(consoleMembers)
          .where(and(eq(consoleMembers.email, email), isNull(consoleMembers.userId)))
          .for('update');
      }
      if (!member) {
        throw new Forbidden({
          code: 'not_a_console_member',
          detail: `${email ?? person.userId} signed in, but has no console role${
            email && !person.emailVerified ? ' (and the email is not on a verified domain)' : ''
          }.`,
          fix: 'Ask a console owner to grant you a role (Settings → People), then sign in again.',
        });
      }
      const [bound] = await tx
        .update(consoleMembers)
        .set({ userId: person.userId, lastSignInAt: new Date(), updatedAt: new Date() })
        .where(eq(consoleMembers.id, member.id))
        .returning();
      const opened = await this.#openSession(tx, {
        memberId: member.id,
        userId: person.userId,
        email: email ?? member.email,
        name: person.name || email || member.email,
        role: member.role as ConsoleRole,
        method: 'sso',
        ip,
      });
      await this.#events.append(tx, {
        organizationId: null,
        type: 'console.signed_in',
        actor: { type: 'console', id: person.userId, name: email ?? member.email, ip },
        subjectType: 'console_member',
        subjectId: member.id,
        data: { method: 'sso', role: member.role, boundUser: member.userId ? undefined : bound?.userId },
      });
      return opened;
    });
  }

  /** The principal of a live session cookie; undefined when unknown or expired. */
  async authenticate(
    token: string,
  ): Promise<{ principal: ConsolePrincipal; session: SessionRow } | undefined> {
    if (token.length < 16 || token.length > 256) return undefined;
    const [session] = await this.#database.db
      .select()
      .from(consoleSessions)
      .where(eq(consoleSessions.tokenHash, hashToken(token)))
      .limit(1);
    if (!session || session.expiresAt.getTime() <= Date.now()) return undefined;
    this.#noteSeen(session.id);
    const role = session.role as ConsoleRole;
    return {
      session,
      principal: {
        kind: 'console',
        id: session.userId ?? session.id,
        name: session.email ?? session.name,
        scopes: ROLE_SCOPES[role],
        sessionId: session.id,
        role,
        csrfToken: csrfTokenOf(token),
      },
    };
  }

  sessionView(token: string, session: SessionRow): ConsoleSessionView {
    const role = session.role as ConsoleRole;
    return {
      person: {
        name: session.name,
        email: session.email,
        userId: session.userId,
        memberId: session.memberId,
      },
      role,
      scopes: [...ROLE_SCOPES[role]],
      method: session.method as 'sso' | 'login_link',
      csrfToken: csrfTokenOf(token),
      expiresAt: session.expiresAt.toISOString(),
    };
  }

  async signOut(token: string, actor: Actor): Promise<void> {
    await this.#database.transaction(async (tx) => {
      const [session] = await tx
        .delete(consoleSessions)
        .where(eq(consoleSessions.tokenHash, hashToken(token)))
        .returning();
      if (!session) return;
      await this.#events.append(tx, {
        organizationId: null,
        type: 'console.signed_out',
        actor,
        subjectType: 'console_session',
        subjectId: session.id,
        data: { method: session.method },
      });
    });
  }

  /** Deletes expired sessions and login links (worker). */
  async cleanUp(now = new Date()): Promise<number> {
    const sessions = await this.#database.db
      .delete(consoleSessions)
      .where(lt(consoleSessions.expiresAt, now))
      .returning({ id: consoleSessions.id });
    await this.#database.db.delete(consoleLoginLinks).where(lt(consoleLoginLinks.expiresAt, now));
    return sessions.length;
  }

  async #openSession(
    tx: Tx,
    input: Omit<typeof consoleSessions.$inferInsert, 'id' | 'tokenHash' | 'expiresAt'>,
  ): Promise<{ token: string; session: SessionRow }> {
    const token = newToken('sbc');
    const [session] = await tx
      .insert(consoleSessions)
      .values({
        ...input,
        id: newId('consoleSession'),
        tokenHash: hashToken(token),
        expiresAt: new Date(Date.now() + this.#sessionTtlMs),
      })
      .returning();
    return { token, session: session as SessionRow };
  }

  async #append(tx: Tx, type: string, actor: Actor, memberId: string, data: Record<string, unknown>) {
    await this.#events.append(tx, {
      organizationId: null,
      type,
      actor,
      subjectType: 'console_member',
      subjectId: memberId,
      data,
    });
  }

  #noteSeen(id: string): void {
    const now = Date.now();
    if (now - (this.#lastSeenWrites.get(id) ?? 0) < LAST_SEEN_RESOLUTION_MS) return;
    this.#lastSeenWrites.set(id, now);
    if (this.#lastSeenWrites.size > 10_000) this.#lastSeenWrites.clear();
    this.#database.db
      .update(consoleSessions)
      .set({ lastSeenAt: new Date(now) })
      .where(eq(consoleSessions.id, id))
      .then(
        () => {},
        () => {},
      );
  }
}

/** The console must keep an owner: the last one cannot be demoted or removed. */
async function assertAnotherOwner(tx: Tx, exceptId: string): Promise<void> {
  const owners = await tx
    .select({ id: consoleMembers.id })
    .from(consoleMembers)
    .where(eq(consoleMembers.role, 'owner'));
  if (!owners.some((owner) => owner.id !== exceptId)) {
    throw new Conflict({
      code: 'last_console_owner',
      detail: 'This is the last console owner; the console would have nobody able to grant roles.',
      field: 'role',
      fix: 'Grant the owner role to someone else first.',
    });
  }
}

function memberView(row: MemberRow): ConsoleMemberView {
  return {
    id: row.id,
    email: row.email,
    userId: row.userId,
    role: row.role as ConsoleRole,
    grantedBy: row.grantedBy,
    lastSignInAt: row.lastSignInAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function parseRole(value: string): ConsoleRole {
  if ((CONSOLE_ROLES as readonly string[]).includes(value)) return value as ConsoleRole;
  throw new InvalidInput({
    code: 'invalid_console_role',
    detail: `"${value}" is not a console role.`,
    field: 'role',
    fix: `Use one of ${CONSOLE_ROLES.join(', ')}.`,
  });
}
