/**
 * Reads Google Workspace users, then groups (https://developers.google.com/admin-sdk/directory/reference/rest/v1/users/list,
 * /groups/list, /members/list). Every read is full (the Directory API has no change feed).
 *
 * Managers are emails in Google, so the read first lists every user's id and primary email
 * (`projection=basic`, 500 a page) to resolve them, then reads users with `projection=full`
 * (custom schemas) page by page. Groups follow, each with `includeDerivedMembership=true` so
 * people in nested groups count as members. A checkpoint is the phase and page token.
 */
import { z } from 'zod';
import {
  type EmployeePage,
  HrConnectorError,
  type ReadEmployeesRequest,
  type SourceGroup,
} from '../../hris-contract.ts';
import type { GoogleDirectoryClient } from '../client.ts';
import { flattenGoogleUser } from '../flatten.ts';
import { googleManifest } from '../manifest.ts';
import { GoogleGroupsPageSchema, GoogleMembersPageSchema, GoogleUsersPageSchema } from '../schemas.ts';

const CheckpointSchema = z.object({ phase: z.enum(['users', 'groups']), pageToken: z.string().nullable() });
type Checkpoint = z.output<typeof CheckpointSchema>;

export async function* readGoogleDirectory(
  client: GoogleDirectoryClient,
  request: ReadEmployeesRequest,
): AsyncGenerator<EmployeePage> {
  const pageSize = Math.max(1, Math.min(request.pageSize ?? googleManifest.pagination.defaultPageSize, 500));
  const signal = request.signal;
  const customer = client.config.customer;
  let checkpoint: Checkpoint = { phase: 'users', pageToken: null };
  if (request.resumeFrom) {
    try {
      checkpoint = CheckpointSchema.parse(JSON.parse(request.resumeFrom));
    } catch {
      throw new HrConnectorError(
        'invalid_request',
        'The Google Workspace checkpoint is not one this connector issued',
      );
    }
  }
  const withSignal = signal ? { signal } : {};

  if (checkpoint.phase === 'users') {
    const idByEmail = new Map<string, string>();
    let token: string | undefined;
    do {
      const page = await client.get(
        GoogleUsersPageSchema,
        {
          url: 'users',
          query: { customer, maxResults: 500, projection: 'basic', pageToken: token },
          ...withSignal,
        },
        'the user list',
      );
      for (const user of page.users ?? []) idByEmail.set(user.primaryEmail.toLowerCase(), user.id);
      token = page.nextPageToken;
    } while (token);

    for (;;) {
      const page = await client.get(
        GoogleUsersPageSchema,
        {
          url: 'users',
          query: {
            customer,
            maxResults: pageSize,
            projection: 'full',
            pageToken: checkpoint.pageToken ?? undefined,
          },
          ...withSignal,
        },
        'the user list',
      );
      const records = (page.users ?? []).map((user) => flattenGoogleUser(user, idByEmail));
      if (page.nextPageToken) {
        checkpoint = { phase: 'users', pageToken: page.nextPageToken };
        yield { records, checkpoint: JSON.stringify(checkpoint) };
        continue;
      }
      if (!client.config.includeGroups) {
        yield { records, checkpoint: null };
        return;
      }
      checkpoint = { phase: 'groups', pageToken: null };
      yield { records, checkpoint: JSON.stringify(checkpoint) };
      break;
    }
  }

  for (;;) {
    const page = await client.get(
      GoogleGroupsPageSchema,
      {
        url: 'groups',
        query: { customer, maxResults: 200, pageToken: checkpoint.pageToken ?? undefined },
        ...withSignal,
      },
      'the group list',
    );
    const groups: SourceGroup[] = [];
    for (const group of page.groups ?? []) {
      const memberIds: string[] = [];
      let token: string | undefined;
      do {
        const members = await client.get(
          GoogleMembersPageSchema,
          {
            url: `groups/${encodeURIComponent(group.id)}/members`,
            query: { includeDerivedMembership: 'true', maxResults: 200, pageToken: token },
            ...withSignal,
          },
          `the members of group ${group.email ?? group.id}`,
        );
        for (const member of members.members ?? [])
          if (member.type === 'USER' && member.id) memberIds.push(member.id);
        token = members.nextPageToken;
      } while (token);
      groups.push({
        sourceId: group.id,
        name: group.name ?? group.email ?? group.id,
        memberIds: [...new Set(memberIds)],
      });
    }
    if (!page.nextPageToken) {
      yield { records: [], groups, checkpoint: null };
      return;
    }
    checkpoint = { phase: 'groups', pageToken: page.nextPageToken };
    yield { records: [], groups, checkpoint: JSON.stringify(checkpoint) };
  }
}
