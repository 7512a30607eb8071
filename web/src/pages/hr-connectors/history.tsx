/** A connector's sync history, and a sync's progress while it runs. */
import { Empty, Spinner, StatusBadge, when } from '../../components/ui.tsx';
import { Link } from '../../router.tsx';
import { hrConnectorPath, type SyncRun } from './shared.ts';

export function SyncProgress({ run, waited }: { run: SyncRun | undefined; waited: number }) {
  if (!run) {
    return (
      <div>
        <Spinner label="Sync queued: waiting for a worker to start it…" />
        {waited >= 30 ? (
          <div className="warning">
            No worker has started the sync yet. Syncs run in the hub's worker (started with --role worker or
            all); check that one is running.
          </div>
        ) : null}
      </div>
    );
  }
  return (
    <div>
      <progress aria-label="Sync progress" />
      <Spinner
        label={`Syncing (${run.mode}): ${run.stats.read} records read on ${run.stats.pages} ${run.stats.pages === 1 ? 'page' : 'pages'} so far…`}
      />
    </div>
  );
}

export function RunTable({ runs, org, directoryId }: { runs: SyncRun[]; org: string; directoryId: string }) {
  if (runs.length === 0) {
    return <Empty title="No sync yet.">Test the connection, check the field mapping, then sync now.</Empty>;
  }
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Started</th>
            <th>Status</th>
            <th>Mode</th>
            <th>Trigger</th>
            <th>Finished</th>
            <th>Read</th>
            <th>Users</th>
            <th>To review</th>
            <th>Error</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id}>
              <td>
                <Link to={`${hrConnectorPath(org, directoryId)}/runs/${run.id}`}>{when(run.startedAt)}</Link>
              </td>
              <td>
                <StatusBadge status={run.status} />
              </td>
              <td>{run.mode}</td>
              <td>{run.trigger}</td>
              <td>{when(run.finishedAt)}</td>
              <td>{run.stats.read}</td>
              <td>
                {run.stats.usersCreated} created, {run.stats.usersUpdated} updated,{' '}
                {run.stats.usersDeactivated} deactivated
              </td>
              <td>
                {run.stats.unmatched} unmatched, {run.stats.ambiguous} ambiguous
              </td>
              <td className="warn-text">{run.error ? `${run.error.message} (${run.error.code})` : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
