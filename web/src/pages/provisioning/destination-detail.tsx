/** One destination: its connection test, settings, the people in it, attempts, retry and reconcile. */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { client, unwrap } from '../../api/client.ts';
import { apiQuery, invalidate, useApiMutation } from '../../api/queries.ts';
import { can } from '../../api/session.ts';
import type { PageProps } from '../../app.tsx';
import { Pager } from '../../components/pager.tsx';
import {
  Badge,
  Button,
  Empty,
  ErrorBox,
  Loader,
  PageHeader,
  StatusBadge,
  when,
} from '../../components/ui.tsx';
import { Link } from '../../router.tsx';
import { AttemptRows } from './attempts.tsx';
import { DestinationEditor } from './destination-editor.tsx';
import { KINDS } from './kinds.tsx';
import { SsoHandoffs } from './sso-handoffs.tsx';

const STATE_FILTERS = ['', 'pending', 'synced', 'retrying', 'failed', 'grace', 'drift'] as const;

export function DestinationDetailPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const queryClient = useQueryClient();
  const path = { params: { path: { org, id: params.id ?? '' } } };
  const destination = useQuery(apiQuery('/api/v1/organizations/{org}/destinations/{id}', path));
  const [status, setStatus] = useState<(typeof STATE_FILTERS)[number]>('');
  const [statesAfter, setStatesAfter] = useState('');
  const [attemptsAfter, setAttemptsAfter] = useState('');
  const states = useQuery(
    apiQuery('/api/v1/organizations/{org}/destinations/{id}/states', {
      params: {
        ...path.params,
        query: { limit: 50, ...(status ? { status } : {}), ...(statesAfter ? { after: statesAfter } : {}) },
      },
    }),
  );
  const attempts = useQuery(
    apiQuery('/api/v1/organizations/{org}/destinations/{id}/attempts', {
      params: { ...path.params, query: { limit: 50, ...(attemptsAfter ? { after: attemptsAfter } : {}) } },
    }),
  );
  const [queued, setQueued] = useState<string | undefined>();
  // The answer's latency is what the page says; a new test clears the last one (a new mutation).
  const test = useApiMutation(() =>
    unwrap(client.POST('/api/v1/organizations/{org}/destinations/{id}/test', path)),
  );
  const retry = useApiMutation(
    () => unwrap(client.POST('/api/v1/organizations/{org}/destinations/{id}/retry', path)),
    {
      onSuccess: (result) => {
        setQueued(`Retry queued for ${result.queued} failed ${result.queued === 1 ? 'job' : 'jobs'}.`);
        return invalidate(queryClient, '/api/v1/organizations/{org}/destinations/{id}/states');
      },
    },
  );
  const reconcile = useApiMutation(
    () => unwrap(client.POST('/api/v1/organizations/{org}/destinations/{id}/reconcile', path)),
    { onSuccess: () => setQueued('Reconcile queued: everyone is read back and repaired.') },
  );
  const remove = useApiMutation(
    () => unwrap(client.DELETE('/api/v1/organizations/{org}/destinations/{id}', path)),
    { onSuccess: () => window.history.back() },
  );
  const reload = () => void invalidate(queryClient, '/api/v1/organizations/{org}/destinations/{id}');
  const admin = can(session, 'admin');
  return (
    <Loader state={destination} label="Loading destination…">
      {(d) => (
        <>
          <PageHeader
            title={d.name}
            subtitle={
              <>
                {KINDS[d.kind]} ·{' '}
                <Badge tone={d.enabled ? 'ok' : 'neutral'}>{d.enabled ? 'enabled' : 'disabled'}</Badge> ·
                updated {when(d.updatedAt)}
              </>
            }
            actions={
              admin ? (
                <>
                  <Button
                    className="primary"
                    busy={test.isPending}
                    busyLabel="Testing connection…"
                    onClick={() => test.mutate()}
                  >
                    Test connection
                  </Button>
                  <Button className="secondary" busy={reconcile.isPending} onClick={() => reconcile.mutate()}>
                    Reconcile now
                  </Button>
                  <Button className="secondary" busy={retry.isPending} onClick={() => retry.mutate()}>
                    Retry failed
                  </Button>
                </>
              ) : null
            }
          />
          <div aria-live="polite">
            {test.data ? (
              <div className="notice ok-text" role="status">
                Connection works: the destination answered in {test.data.latencyMs} ms.
              </div>
            ) : null}
            {queued ? <div className="notice">{queued}</div> : null}
          </div>
          <ErrorBox error={test.error ?? retry.error ?? reconcile.error ?? remove.error} />
          {admin ? (
            // A saved destination comes back with a new updatedAt: the form starts again from it.
            <DestinationEditor key={d.updatedAt} org={org} destination={d} onSaved={reload} />
          ) : null}
          {d.kind === 'thinkific' ? <SsoHandoffs org={org} destination={d} admin={admin} /> : null}
          <section className="card" aria-labelledby="states-title">
            <h2 id="states-title">People in this destination</h2>
            <div className="toolbar">
              <label htmlFor="state-filter">Status</label>
              <select
                id="state-filter"
                value={status}
                onChange={(e) => {
                  setStatus(e.target.value as (typeof STATE_FILTERS)[number]);
                  setStatesAfter('');
                }}
              >
                {STATE_FILTERS.map((value) => (
                  <option key={value} value={value}>
                    {value || 'any'}
                  </option>
                ))}
              </select>
            </div>
            <Loader state={states} label="Loading states…">
              {(page) =>
                page.data.length === 0 ? (
                  <Empty title="Nobody here yet." />
                ) : (
                  <div className="table-wrap">
                    <table>
                      <thead>
                        <tr>
                          <th>User</th>
                          <th>Status</th>
                          <th>Remote id</th>
                          <th>Last error</th>
                          <th>Synced</th>
                        </tr>
                      </thead>
                      <tbody>
                        {page.data.map((s) => (
                          <tr key={s.userId}>
                            <td>
                              <Link to={`/admin/o/${org}/users/${s.userId}`} className="mono">
                                {s.userId}
                              </Link>
                            </td>
                            <td>
                              <StatusBadge status={s.status} />
                            </td>
                            <td className="mono">{s.remoteId ?? '—'}</td>
                            <td className="warn-text">{s.lastError ?? ''}</td>
                            <td>{when(s.syncedAt)}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                )
              }
            </Loader>
            <Pager after={statesAfter} next={states.data?.nextCursor ?? null} onPage={setStatesAfter} />
          </section>
          <section className="card" aria-labelledby="attempts-title">
            <h2 id="attempts-title">Attempts</h2>
            <Loader state={attempts} label="Loading attempts…">
              {(page) => <AttemptRows attempts={page.data} org={org} />}
            </Loader>
            <Pager after={attemptsAfter} next={attempts.data?.nextCursor ?? null} onPage={setAttemptsAfter} />
          </section>
          {admin ? (
            <div className="actions">
              <Button
                className="danger"
                busy={remove.isPending}
                onClick={() => {
                  if (
                    !window.confirm(
                      'Delete this destination and its provisioning state? Nothing is removed in the destination itself.',
                    )
                  )
                    return;
                  remove.mutate();
                }}
              >
                Delete destination
              </Button>
            </div>
          ) : null}
        </>
      )}
    </Loader>
  );
}
