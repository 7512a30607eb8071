/**
 * Reads users, then groups, through Graph delta queries
 * (https://learn.microsoft.com/graph/delta-query-users, /delta-query-groups).
 *
 * - Full: a fresh `users/delta` round enumerates every user and ends with a delta link; then a
 *   fresh `groups/delta` round, each group with its transitive people.
 * - Incremental: the stored delta links return only changes. A changed user comes back with only
 *   its changed properties, so the connector reads that user whole before handing it on (a partial
 *   record would blank the fields it lacks); `@removed` users become `deletedIds`. A changed group
 *   (members added or removed, renamed) and every group it is nested in get their transitive
 *   people read again; removed groups are reported as removed.
 *
 * Checkpoints are the next link of the phase in progress (plus the users' delta link once that
 * phase is done), so a failed read resumes with the page that failed. `nextSince` holds both delta
 * links.
 */
import { z } from 'zod';
import {
  type EmployeePage,
  HrConnectorError,
  type ReadEmployeesRequest,
  type SourceGroup,
  type SourceRecord,
} from '../../hris-contract.ts';
import { flattenFields } from '../../source-fields.ts';
import type { GraphClient } from '../client.ts';
import { graphManifest } from '../manifest.ts';
import { type GraphGroupDelta, GraphGroupDeltaSchema, type GraphUser, GraphUserSchema } from '../schemas.ts';

const CheckpointSchema = z.object({
  phase: z.enum(['users', 'groups']),
  next: z.string(),
  usersDelta: z.string().optional(),
  /** Incremental reads: the groups' delta link from the previous read, used once users are done. */
  groupsSince: z.string().nullish(),
  incremental: z.boolean(),
});
type Checkpoint = z.output<typeof CheckpointSchema>;

const SinceSchema = z.object({ users: z.string(), groups: z.string().nullable() });

function parseToken<T>(schema: z.ZodType<T>, value: string, what: string): T {
  try {
    return schema.parse(JSON.parse(value));
  } catch {
    throw new HrConnectorError(
      'invalid_request',
      `The Microsoft Graph ${what} is not one this connector issued`,
    );
  }
}

export function graphUserRecord(user: GraphUser): SourceRecord {
  return {
    sourceId: user.id,
    fields: flattenFields(user, { skip: new Set(['@odata.type', '@odata.context']) }),
  };
}

export async function* readGraphDirectory(
  client: GraphClient,
  request: ReadEmployeesRequest,
): AsyncGenerator<EmployeePage> {
  const { maxPageSize, defaultPageSize } = graphManifest.pagination;
  const pageSize = Math.max(1, Math.min(request.pageSize ?? defaultPageSize, maxPageSize));
  const signal = request.signal;
  let checkpoint: Checkpoint;
  if (request.resumeFrom) {
    checkpoint = parseToken(CheckpointSchema, request.resumeFrom, 'checkpoint');
  } else if (request.mode === 'incremental') {
    if (!request.since) {
      throw new HrConnectorError(
        'invalid_request',
        'An incremental Microsoft Graph read needs the delta links of a previous read',
      );
    }
    const since = parseToken(SinceSchema, request.since, 'delta token');
    checkpoint = { phase: 'users', next: since.users, groupsSince: since.groups, incremental: true };
  } else {
    checkpoint = {
      phase: 'users',
      next: client.http.urlFor('users/delta', {
        $select: client.userSelect(),
        $expand: 'manager($select=id)',
      }),
      incremental: false,
    };
  }
  // A fresh groups round when there is no groups delta link to continue from.
  const groupsStart = (from: Checkpoint) =>
    from.incremental && from.groupsSince
      ? from.groupsSince
      : client.http.urlFor('groups/delta', { $select: 'displayName,members' });

  while (checkpoint.phase === 'users') {
    let page: Awaited<ReturnType<typeof deltaPage>>;
    try {
      page = await deltaPage(client, checkpoint.next, pageSize, signal);
    } catch (error) {
      if (!(checkpoint.incremental && isResyncRequired(error))) throw error;
      // Graph forgot the delta link: start a new round. Every user comes back (unchanged ones
      // write nothing); deletions in the gap are caught by the next full sync.
      checkpoint = { phase: 'users', next: fullUsersStart(client), incremental: false, groupsSince: null };
      continue;
    }
    const records: SourceRecord[] = [];
    const deletedIds: string[] = [];
    const changed: string[] = [];
    for (const raw of page.value) {
      const user = parseUser(raw);
      if (user['@removed']) deletedIds.push(user.id);
      else if (!checkpoint.incremental) records.push(graphUserRecord(user));
      else changed.push(user.id);
    }
    if (changed.length) {
      // Delta users carry only what changed: read them whole (15 per request).
      const whole = new Map((await client.usersById(changed, signal)).map((user) => [user.id, user]));
      for (const id of changed) {
        const user = whole.get(id);
        if (user) records.push(graphUserRecord(user));
        else deletedIds.push(id);
      }
    }
    const nextLink = page['@odata.nextLink'];
    const deltaLink = page['@odata.deltaLink'];
    if (nextLink) {
      checkpoint = { ...checkpoint, next: nextLink };
      yield { records, ...(deletedIds.length ? { deletedIds } : {}), checkpoint: JSON.stringify(checkpoint) };
      continue;
    }
    if (!deltaLink) {
      throw new HrConnectorError(
        'invalid_response',
        'Microsoft Graph ended a users delta round without a delta link',
      );
    }
    if (!client.config.includeGroups) {
      yield {
        records,
        ...(deletedIds.length ? { deletedIds } : {}),
        checkpoint: null,
        nextSince: JSON.stringify({ users: deltaLink, groups: null }),
      };
      return;
    }
    checkpoint = {
      phase: 'groups',
      next: groupsStart(checkpoint),
      usersDelta: deltaLink,
      incremental: checkpoint.incremental,
    };
    yield { records, ...(deletedIds.length ? { deletedIds } : {}), checkpoint: JSON.stringify(checkpoint) };
  }
  for (;;) {
    let page: Awaited<ReturnType<typeof groupPage>>;
    try {
      page = await groupPage(client, checkpoint.next, pageSize, signal);
    } catch (error) {
      if (!(checkpoint.incremental && isResyncRequired(error))) throw error;
      // A new groups round: every group with its full membership.
      checkpoint = {
        ...checkpoint,
        next: groupsStart({ ...checkpoint, incremental: false }),
        incremental: false,
      };
      continue;
    }
    const groups = await sourceGroups(client, page.value.map(parseGroup), checkpoint.incremental, signal);
    const nextLink = page['@odata.nextLink'];
    const deltaLink = page['@odata.deltaLink'];
    if (nextLink) {
      checkpoint = { ...checkpoint, next: nextLink };
      yield { records: [], groups, checkpoint: JSON.stringify(checkpoint) };
      continue;
    }
    if (!deltaLink) {
      throw new HrConnectorError(
        'invalid_response',
        'Microsoft Graph ended a groups delta round without a delta link',
      );
    }
    yield {
      records: [],
      groups,
      checkpoint: null,
      nextSince: JSON.stringify({ users: checkpoint.usersDelta, groups: deltaLink }),
    };
    return;
  }
}

async function deltaPage(client: GraphClient, url: string, pageSize: number, signal?: AbortSignal) {
  try {
    return await client.page(GraphUserSchema.partial({ id: true }).extend({ id: z.string() }), url, {
      pageSize,
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    throw resyncError(error);
  }
}

async function groupPage(client: GraphClient, url: string, pageSize: number, signal?: AbortSignal) {
  try {
    return await client.page(GraphGroupDeltaSchema, url, { pageSize, ...(signal ? { signal } : {}) });
  } catch (error) {
    throw resyncError(error);
  }
}

function fullUsersStart(client: GraphClient): string {
  return client.http.urlFor('users/delta', { $select: client.userSelect(), $expand: 'manager($select=id)' });
}

/** 410 Gone (`resyncRequired`, `syncStateNotFound`): Graph no longer knows the delta link. */
function isResyncRequired(error: unknown): boolean {
  return error instanceof HrConnectorError && error.status === 410;
}

/** A 410 met anywhere else than at the start of an increment (a skip link mid-round) fails the read. */
function resyncError(error: unknown): unknown {
  if (error instanceof HrConnectorError && error.status === 410) {
    return new HrConnectorError(
      'invalid_request',
      'Microsoft Graph no longer knows this delta or skip link (410 resyncRequired): the next sync starts a new round',
      { status: 410, ...(error.vendorMessage ? { vendorMessage: error.vendorMessage } : {}) },
    );
  }
  return error;
}

function parseUser(raw: unknown): GraphUser {
  return GraphUserSchema.parse(raw);
}

function parseGroup(raw: unknown): GraphGroupDelta {
  return GraphGroupDeltaSchema.parse(raw);
}

async function sourceGroups(
  client: GraphClient,
  page: GraphGroupDelta[],
  incremental: boolean,
  signal?: AbortSignal,
): Promise<SourceGroup[]> {
  const out: SourceGroup[] = [];
  const names = new Map<string, string>();
  const toRead = new Set<string>();
  for (const group of page) {
    if (group['@removed']) {
      out.push({ sourceId: group.id, name: group.displayName ?? '', removed: true });
      continue;
    }
    if (group.displayName) names.set(group.id, group.displayName);
    toRead.add(group.id);
    // A membership change inside a nested group changes every group above it.
    if (incremental && group['members@delta']?.length) {
      for (const parent of await client.ancestorGroupIds(group.id, signal)) toRead.add(parent);
    }
  }
  for (const id of toRead) {
    const name = names.get(id) ?? (await groupName(client, id, signal));
    if (name === undefined) continue; // deleted between the delta page and now: its own @removed follows
    out.push({ sourceId: id, name, memberIds: await client.transitiveUserIds(id, signal) });
  }
  return out;
}

async function groupName(client: GraphClient, id: string, signal?: AbortSignal): Promise<string | undefined> {
  const response = await client.http.request({
    url: `groups/${encodeURIComponent(id)}`,
    query: { $select: 'id,displayName' },
    acceptStatuses: [404],
    ...(signal ? { signal } : {}),
  });
  if (response.status === 404) return undefined;
  const parsed = GraphGroupDeltaSchema.safeParse(response.json);
  return parsed.success ? (parsed.data.displayName ?? '') : '';
}
