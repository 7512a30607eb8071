/** A person's provisioning on their user page: state per destination, latest attempts, retry. */
import { useQuery } from '@tanstack/react-query';
import { client, unwrap } from '../../api/client.ts';
import { apiQuery, useApiMutation } from '../../api/queries.ts';
import { can, type Session } from '../../api/session.ts';
import { Button, Empty, ErrorBox, Loader, StatusBadge, when } from '../../components/ui.tsx';
import { Link } from '../../router.tsx';
import { AttemptRows } from './attempts.tsx';

export function UserProvisioning({
  session,
  org,
  userId,
}: {
  session: Session;
  org: string;
  userId: string;
}) {
  const path = { params: { path: { org, userId } } };
  const provisioning = useQuery(apiQuery('/api/v1/organizations/{org}/users/{userId}/provisioning', path));
  const destinations = useQuery(
    apiQuery('/api/v1/organizations/{org}/destinations', { params: { path: { org } } }),
  );
  const names = new Map((destinations.data?.data ?? []).map((d) => [d.id, d.name]));
  const { refetch } = provisioning;
  const sync = useApiMutation(
    () => unwrap(client.POST('/api/v1/organizations/{org}/users/{userId}/provisioning/sync', path)),
    { onSuccess: () => void refetch() },
  );
  // Kept until the next queuing (a new mutation starts without data).
  const queued = sync.data?.queued;
  return (
    <section className="card" aria-labelledby="provisioning-title">
      <h2 id="provisioning-title">Provisioning</h2>
      <Loader state={provisioning} label="Loading provisioning…">
        {(p) => (
          <>
            {p.states.length === 0 ? (
              <Empty title="Not provisioned anywhere.">
                No rule gives this person anything in a destination.
              </Empty>
            ) : (
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th>Destination</th>
                      <th>Status</th>
                      <th>Remote id</th>
                      <th>Last error</th>
                      <th>Synced</th>
                    </tr>
                  </thead>
                  <tbody>
                    {p.states.map((s) => (
                      <tr key={s.destinationId}>
                        <td>
                          <Link to={`/admin/o/${org}/destinations/${s.destinationId}`}>
                            {names.get(s.destinationId) ?? s.destinationId}
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
            )}
            <h3>Latest attempts</h3>
            <AttemptRows attempts={p.attempts} org={org} />
          </>
        )}
      </Loader>
      <ErrorBox error={sync.error} />
      <div className="actions">
        {queued !== undefined ? (
          <span className="muted" role="status">
            Queued {queued} {queued === 1 ? 'job' : 'jobs'}.
          </span>
        ) : null}
        <Button className="secondary" onClick={() => void refetch()}>
          Refresh
        </Button>
        {can(session, 'admin') ? (
          <Button
            className="primary"
            busy={sync.isPending}
            busyLabel="Queuing…"
            onClick={() => sync.mutate()}
          >
            Retry provisioning
          </Button>
        ) : null}
      </div>
    </section>
  );
}
