/**
 * A connector's "Connection and sync" card: its last sync, the connection test, "Sync now", and
 * the requested sync followed until it ends (the history is read again every second meanwhile).
 */
import { useForm } from 'react-hook-form';
import { client, unwrap } from '../../api/client.ts';
import { useApiMutation } from '../../api/queries.ts';
import { Button, ErrorBox, when } from '../../components/ui.tsx';
import { ConnectionTest } from './connection-test.tsx';
import { SyncProgress } from './history.tsx';
import type { HrConnector, HrDirectory, SyncRun } from './shared.ts';

/** A requested sync: the newest run before it (its key), and how many reads it has waited. */
export interface PendingSync {
  before: string;
  polls: number;
}

/** The newest run as a key, to tell when a requested sync has started and finished. */
export function runKey(run: SyncRun | undefined): string {
  return run ? `${run.id}:${run.attempts}` : '';
}

export function SyncCard({
  org,
  directory: d,
  connector,
  displayName,
  admin,
  newest,
  running,
  pending,
  finished,
  onStart,
  onRequested,
}: {
  org: string;
  directory: HrDirectory;
  connector: HrConnector | undefined;
  displayName: string;
  admin: boolean;
  /** The newest run on the first page of the history (undefined on later pages). */
  newest: SyncRun | undefined;
  running: boolean;
  pending: PendingSync | undefined;
  finished: SyncRun | undefined;
  /** "Sync now" was pressed: the last finished sync's outcome goes. */
  onStart: () => void;
  /** A sync was queued after `before` (the newest run's key when it was asked for). */
  onRequested: (before: string) => void;
}) {
  const form = useForm<{ mode: 'auto' | 'full' | 'incremental' }>({ defaultValues: { mode: 'auto' } });
  const sync = useApiMutation(
    ({ mode }: { mode: 'auto' | 'full' | 'incremental'; before: string }) =>
      unwrap(
        client.POST('/api/v1/organizations/{org}/hris/directories/{id}/sync', {
          params: { path: { org, id: d.id } },
          body: { mode },
        }),
      ),
    { onSuccess: (_, { before }) => onRequested(before) },
  );
  const syncing = Boolean(pending) || running;
  return (
    <section className="card" aria-labelledby="sync-title">
      <h2 id="sync-title">Connection and sync</h2>
      {d.sync.lastError ? (
        <div className="warning">
          Last sync failed {when(d.sync.lastError.at)}: {d.sync.lastError.message}{' '}
          <span className="muted small">({d.sync.lastError.code})</span>
        </div>
      ) : null}
      <dl className="facts">
        <dt>Last successful sync</dt>
        <dd>{when(d.sync.lastSuccessAt)}</dd>
        <dt>Last full sync</dt>
        <dd>{when(d.sync.lastFullSyncAt)}</dd>
        <dt>Next scheduled sync reads</dt>
        <dd>{d.sync.incremental ? 'only changes (incremental)' : 'everyone (full)'}</dd>
      </dl>
      {admin ? (
        <>
          <ConnectionTest org={org} id={d.id} displayName={displayName} />
          <form
            className="toolbar"
            aria-label="Sync now"
            onSubmit={form.handleSubmit(({ mode }) => {
              onStart();
              sync.mutate({ mode, before: runKey(newest) });
            })}
          >
            <label htmlFor="sync-mode">Read</label>
            <select id="sync-mode" {...form.register('mode')}>
              <option value="auto">changes when possible (auto)</option>
              <option value="full">everyone (full)</option>
              {connector?.incremental.supported !== false ? (
                <option value="incremental">only changes (incremental)</option>
              ) : null}
            </select>
            <Button type="submit" className="primary" busy={sync.isPending || syncing} busyLabel="Syncing…">
              Sync now
            </Button>
          </form>
        </>
      ) : (
        <p className="muted small">Your role can read this connector; admins test and sync it.</p>
      )}
      <ErrorBox error={sync.error} />
      <div aria-live="polite">
        {syncing ? (
          <SyncProgress run={running ? newest : undefined} waited={pending?.polls ?? 0} />
        ) : finished ? (
          <div className={finished.status === 'succeeded' ? 'notice ok-text' : 'error'} role="status">
            Sync {finished.status}: {finished.stats.read} read, {finished.stats.usersCreated} users created,{' '}
            {finished.stats.usersUpdated} updated, {finished.stats.usersDeactivated} deactivated,{' '}
            {finished.stats.unmatched} unmatched.
            {finished.error ? ` ${finished.error.message}` : ''}
          </div>
        ) : null}
      </div>
    </section>
  );
}
