/** One sync run: its facts, counts and error; followed while it runs. */
import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { apiQuery } from '../../api/queries.ts';
import type { PageProps } from '../../app.tsx';
import { Loader, PageHeader, StatusBadge, when } from '../../components/ui.tsx';
import { Link } from '../../router.tsx';
import { SyncProgress } from './history.tsx';
import { hrConnectorPath } from './shared.ts';

export function HrRunPage({ params }: PageProps) {
  const org = params.org ?? '';
  const directoryId = params.id ?? '';
  // A running sync: its counts read again every second until it ends.
  const run = useQuery({
    ...apiQuery('/api/v1/organizations/{org}/hris/runs/{runId}', {
      params: { path: { org, runId: params.runId ?? '' } },
    }),
    refetchInterval: (query) => (query.state.data?.status === 'running' ? 1000 : false),
  });
  return (
    <Loader state={run} label="Loading sync run…">
      {(r) => {
        const seconds =
          r.finishedAt !== null
            ? Math.max(0, Math.round((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000))
            : undefined;
        const counts: Array<[string, number]> = [
          ['Pages', r.stats.pages],
          ['Records read', r.stats.read],
          ['Records new', r.stats.created],
          ['Records changed', r.stats.updated],
          ['Records unchanged', r.stats.unchanged],
          ['Records gone from the source', r.stats.deleted],
          ['Unmatched', r.stats.unmatched],
          ['Ambiguous', r.stats.ambiguous],
          ['Users created', r.stats.usersCreated],
          ['Users updated', r.stats.usersUpdated],
          ['Users deactivated', r.stats.usersDeactivated],
          ['Users reactivated', r.stats.usersReactivated],
        ];
        return (
          <>
            <PageHeader
              title={`Sync run ${r.id}`}
              subtitle={
                <>
                  <StatusBadge status={r.status} /> · {r.mode} · {r.trigger} · started {when(r.startedAt)}
                </>
              }
              actions={
                <Link className="button secondary" to={hrConnectorPath(org, directoryId)}>
                  Back to the connector
                </Link>
              }
            />
            {r.error ? (
              <div className="error" role="alert">
                <strong>{r.error.message}</strong>
                <div>
                  {r.error.code}
                  {r.error.page !== undefined ? ` · on page ${r.error.page}` : ''} · {when(r.error.at)}
                </div>
                <div className="fix">
                  {r.resumable
                    ? 'The next sync continues from where this one stopped.'
                    : 'Fix the cause (test the connection), then sync again.'}
                </div>
              </div>
            ) : null}
            {r.status === 'running' ? <SyncProgress run={r} waited={0} /> : null}
            <section className="card" aria-labelledby="run-facts">
              <h2 id="run-facts">Run</h2>
              <dl className="facts">
                <dt>Status</dt>
                <dd>
                  <StatusBadge status={r.status} />
                </dd>
                <dt>Mode</dt>
                <dd>{r.mode === 'full' ? 'full (everyone)' : 'incremental (changes only)'}</dd>
                <dt>Trigger</dt>
                <dd>{r.trigger === 'manual' ? 'on demand' : 'schedule'}</dd>
                <dt>Attempts</dt>
                <dd>{r.attempts}</dd>
                <dt>Started</dt>
                <dd>{when(r.startedAt)}</dd>
                <dt>Finished</dt>
                <dd>
                  {when(r.finishedAt)}
                  {seconds !== undefined ? ` (${seconds} s)` : ''}
                </dd>
              </dl>
            </section>
            <section className="card" aria-labelledby="run-counts">
              <h2 id="run-counts">Counts</h2>
              <dl className="facts">
                {counts.map(([label, value]) => (
                  <FactPair key={label} label={label} value={value} />
                ))}
              </dl>
              {r.stats.unmatched + r.stats.ambiguous > 0 ? (
                <Link to={`${hrConnectorPath(org, directoryId)}?tab=records`}>Review unmatched records</Link>
              ) : null}
            </section>
          </>
        );
      }}
    </Loader>
  );
}

function FactPair({ label, value }: { label: string; value: ReactNode }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </>
  );
}
