/** Users: search, profile with sources, identities, groups, login history, suspend/reactivate. */
import { zodResolver } from '@hookform/resolvers/zod';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { z } from 'zod/mini';
import { client, unwrap } from '../api/client.ts';
import { apiQuery, invalidate, useApiMutation } from '../api/queries.ts';
import { can } from '../api/session.ts';
import type { Schemas } from '../api/types.ts';
import type { PageProps } from '../app.tsx';
import { Button, Empty, ErrorBox, Loader, PageHeader, StatusBadge, when } from '../components/ui.tsx';
import { Link } from '../router.tsx';
import { UserProvisioning } from './provisioning/user-provisioning.tsx';

type User = Schemas['User'];

const STATUSES = ['active', 'suspended', 'deprovisioned'] as const;
const searchForm = z.object({ q: z.string(), status: z.enum(['', ...STATUSES]) });
type Search = z.infer<typeof searchForm>;

export function UsersPage({ params }: PageProps) {
  const org = params.org ?? '';
  const form = useForm<Search>({ resolver: zodResolver(searchForm), defaultValues: { q: '', status: '' } });
  const [filters, setFilters] = useState<Search>({ q: '', status: '' });
  const list = useQuery(
    apiQuery('/api/v1/organizations/{org}/users', {
      params: {
        path: { org },
        query: {
          limit: 50,
          ...(filters.q ? { q: filters.q } : {}),
          ...(filters.status ? { status: filters.status } : {}),
        },
      },
    }),
  );
  const submit = form.handleSubmit(({ q, status }) => setFilters({ q: q.trim(), status }));
  return (
    <>
      <PageHeader title="Users" subtitle="People of this organization, from SSO, SCIM and the API." />
      <form className="toolbar" onSubmit={submit}>
        <label htmlFor="u-q" className="visually-hidden">
          Search users
        </label>
        <input id="u-q" placeholder="Email prefix or part of a name" {...form.register('q')} />
        <label htmlFor="u-status">Status</label>
        <select id="u-status" {...form.register('status')}>
          <option value="">Any</option>
          <option value="active">Active</option>
          <option value="suspended">Suspended</option>
          <option value="deprovisioned">Deprovisioned</option>
        </select>
        <button type="submit" className="secondary">
          Search
        </button>
      </form>
      <Loader state={list} label="Searching users…">
        {(page) =>
          page.data.length === 0 ? (
            <Empty title={filters.q || filters.status ? 'No user matches.' : 'No users yet.'}>
              {filters.q
                ? 'Search matches the start of an email or part of a name.'
                : 'Users arrive with their first SSO login or from a SCIM directory.'}
            </Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Email</th>
                    <th>Status</th>
                    <th>Source</th>
                    <th>Last login</th>
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((u) => (
                    <tr key={u.id}>
                      <td>
                        <Link to={`/admin/o/${org}/users/${u.id}`}>{displayName(u)}</Link>
                      </td>
                      <td>{u.email ?? '—'}</td>
                      <td>
                        <StatusBadge status={u.status} />
                      </td>
                      <td>{u.source}</td>
                      <td>{when(u.lastLoginAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {page.nextCursor ? (
                <p className="muted">Showing the first 50; refine the search to narrow down.</p>
              ) : null}
            </div>
          )
        }
      </Loader>
    </>
  );
}

function displayName(u: User): string {
  return u.displayName || [u.givenName, u.familyName].filter(Boolean).join(' ') || u.email || u.id;
}

export function UserDetailPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const id = params.id ?? '';
  const queryClient = useQueryClient();
  const path = { params: { path: { id } } };
  const user = useQuery(apiQuery('/api/v1/users/{id}', path));
  const identities = useQuery(apiQuery('/api/v1/users/{id}/identities', path));
  const groups = useQuery(apiQuery('/api/v1/users/{id}/groups', path));
  const logins = useQuery(
    apiQuery('/api/v1/organizations/{org}/login-traces', {
      params: { path: { org }, query: { user: id, limit: 20 } },
    }),
  );
  const act = useApiMutation(
    (action: 'suspend' | 'reactivate') =>
      unwrap(
        action === 'suspend'
          ? client.POST('/api/v1/users/{id}/suspend', path)
          : client.POST('/api/v1/users/{id}/reactivate', path),
      ),
    { onSuccess: () => invalidate(queryClient, '/api/v1/users/{id}') },
  );
  return (
    <Loader state={user} label="Loading user…">
      {(u) => (
        <>
          <PageHeader
            title={displayName(u)}
            subtitle={
              <>
                {u.email ?? 'no email'} · <StatusBadge status={u.status} /> · source {u.source} ·{' '}
                <span className="mono">{u.id}</span>
              </>
            }
            actions={
              can(session, 'admin') ? (
                u.status === 'active' ? (
                  <Button
                    className="danger"
                    busy={act.isPending}
                    busyLabel="Suspending…"
                    onClick={() => {
                      if (!window.confirm(`Suspend ${displayName(u)}? Their sessions and tokens end now.`))
                        return;
                      act.mutate('suspend');
                    }}
                  >
                    Suspend
                  </Button>
                ) : u.status === 'suspended' ? (
                  <Button
                    className="primary"
                    busy={act.isPending}
                    busyLabel="Reactivating…"
                    onClick={() => act.mutate('reactivate')}
                  >
                    Reactivate
                  </Button>
                ) : null
              ) : null
            }
          />
          <ErrorBox error={act.error} />
          <section className="card" aria-labelledby="profile-title">
            <h2 id="profile-title">Profile</h2>
            <dl className="facts">
              <dt>Given name</dt>
              <dd>{u.givenName ?? '—'}</dd>
              <dt>Family name</dt>
              <dd>{u.familyName ?? '—'}</dd>
              <dt>Email</dt>
              <dd>{u.email ?? '—'}</dd>
              <dt>Created</dt>
              <dd>
                {when(u.createdAt)} (from {u.source})
              </dd>
              <dt>Last login</dt>
              <dd>{when(u.lastLoginAt)}</dd>
              {Object.entries(u.profile).map(([key, value]) => (
                <div key={key} className="fact-pair">
                  <dt>{key}</dt>
                  <dd className="mono">{typeof value === 'string' ? value : JSON.stringify(value)}</dd>
                </div>
              ))}
            </dl>
            {Object.keys(u.externalIds).length ? (
              <>
                <h3>External ids (by source)</h3>
                <dl className="facts">
                  {Object.entries(u.externalIds).map(([source, value]) => (
                    <div key={source} className="fact-pair">
                      <dt className="mono">{source}</dt>
                      <dd className="mono">{value}</dd>
                    </div>
                  ))}
                </dl>
              </>
            ) : null}
          </section>
          <section className="card" aria-labelledby="ids-title">
            <h2 id="ids-title">Identities</h2>
            <Loader state={identities} label="Loading identities…">
              {(page) =>
                page.data.length === 0 ? (
                  <Empty title="No linked identities." />
                ) : (
                  <div className="table-wrap">
                    <table>
                      <thead>
                        <tr>
                          <th>Source</th>
                          <th>Subject</th>
                          <th>Last seen</th>
                        </tr>
                      </thead>
                      <tbody>
                        {page.data.map((i) => (
                          <tr key={i.id}>
                            <td>
                              {i.providerType} <span className="mono small">{i.providerId}</span>
                            </td>
                            <td className="mono">{i.subject}</td>
                            <td>{when(i.lastSeenAt)}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                )
              }
            </Loader>
          </section>
          <section className="card" aria-labelledby="groups-title">
            <h2 id="groups-title">Groups</h2>
            <Loader state={groups} label="Loading groups…">
              {(page) =>
                page.data.length === 0 ? (
                  <Empty title="Not in any group." />
                ) : (
                  <ul className="chips">
                    {page.data.map((g) => (
                      <li key={g.id} className="chip">
                        {g.name}
                      </li>
                    ))}
                  </ul>
                )
              }
            </Loader>
          </section>
          <UserProvisioning session={session} org={org} userId={u.id} />
          <section className="card" aria-labelledby="logins-title">
            <h2 id="logins-title">Login history</h2>
            <Loader state={logins} label="Loading logins…">
              {(page) =>
                page.data.length === 0 ? (
                  <Empty title="No logins recorded." />
                ) : (
                  <div className="table-wrap">
                    <table>
                      <thead>
                        <tr>
                          <th>When</th>
                          <th>Status</th>
                          <th>Trace</th>
                        </tr>
                      </thead>
                      <tbody>
                        {page.data.map((t) => (
                          <tr key={t.id}>
                            <td>{when(t.createdAt)}</td>
                            <td>
                              <StatusBadge status={t.status} />
                            </td>
                            <td>
                              <Link className="mono small" to={`/admin/o/${org}/traces/${t.id}`}>
                                {t.id}
                              </Link>
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                )
              }
            </Loader>
          </section>
        </>
      )}
    </Loader>
  );
}
