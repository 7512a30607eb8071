/** Reading login traces for the admin API, and their retention. */
import type { z } from 'zod';
import type { Database } from '../../platform/db/client.ts';
import { NotFound } from '../../platform/errors.ts';
import type { OrganizationService } from '../orgs/index.ts';
import type { TraceView, traceListQuery } from './contracts.ts';
import { findTrace, findTraceById, listTraces, type NamedTraceRow } from './repository.ts';

export class TraceQueries {
  readonly #database: Database;
  readonly #orgs: OrganizationService;

  constructor(database: Database, orgs: OrganizationService) {
    this.#database = database;
    this.#orgs = orgs;
  }

  async list(orgIdOrSlug: string, query: z.output<typeof traceListQuery>) {
    const org = await this.#orgs.require(orgIdOrSlug);
    const rows = await listTraces(this.#database.db, {
      organizationId: org.id,
      ...(query.connection ? { connectionId: query.connection } : {}),
      ...(query.status ? { status: query.status } : {}),
      ...(query.email ? { email: query.email } : {}),
      ...(query.user ? { userId: query.user } : {}),
      ...(query.errorCode ? { errorCode: query.errorCode } : {}),
      ...(query.since ? { since: new Date(query.since) } : {}),
      ...(query.after ? { after: query.after } : {}),
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    return {
      data: page.map(toTraceView),
      nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  async get(orgIdOrSlug: string, id: string): Promise<TraceView> {
    const org = await this.#orgs.require(orgIdOrSlug);
    const row = await findTrace(this.#database.db, org.id, id);
    if (!row) {
      throw new NotFound({
        code: 'login_trace_not_found',
        detail: `No login trace ${id} in this organization.`,
        fix: 'Check the id shown on the sign-in page and the organization; traces are kept for SSO_TRACE_RETENTION_DAYS.',
      });
    }
    return toTraceView(row);
  }

  /** A trace by the id a person read off an error page, in whichever organization it is. */
  async find(id: string): Promise<TraceView> {
    const row = /^trc_[0-9a-z]{26}$/.test(id) ? await findTraceById(this.#database.db, id) : undefined;
    if (!row) {
      throw new NotFound({
        code: 'login_trace_not_found',
        detail: `No login trace ${id}.`,
        fix: 'Check the id shown on the sign-in page (it starts with trc_); traces are kept for SSO_TRACE_RETENTION_DAYS.',
      });
    }
    return toTraceView(row);
  }
}

export function toTraceView(row: NamedTraceRow): TraceView {
  return {
    id: row.id,
    organizationId: row.organizationId,
    connectionId: row.connectionId,
    connectionName: row.connectionName,
    protocol: row.protocol,
    status: row.status as TraceView['status'],
    errorCode: row.errorCode,
    reason: row.reason,
    email: row.email,
    subject: row.subject,
    userId: row.userId,
    ip: row.ip,
    userAgent: row.userAgent,
    steps: row.steps as TraceView['steps'],
    createdAt: row.createdAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}
