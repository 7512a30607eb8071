/**
 * One HR connector: its connection and sync card, and tabs for the sync history, the field mapping
 * (./mapping.tsx), the records to review (./records.tsx) and its settings (./settings.tsx).
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useEffect, useState } from 'react';
import { client, unwrap } from '../../api/client.ts';
import { apiQuery, invalidate, useApiMutation } from '../../api/queries.ts';
import { can } from '../../api/session.ts';
import type { PageProps } from '../../app.tsx';
import { Pager } from '../../components/pager.tsx';
import {
  Button,
  Empty,
  ErrorBox,
  Loader,
  PageHeader,
  StatusBadge,
  Tabs,
  when,
} from '../../components/ui.tsx';
import { Link, navigate } from '../../router.tsx';
import { RunTable } from './history.tsx';
import { MappingEditor } from './mapping.tsx';
import { RecordsToReview } from './records.tsx';
import { HrDirectoryEditor } from './settings.tsx';
import { type HrConnector, type HrDirectory, intervalLabel, type SyncRun, useConnectors } from './shared.ts';
import { type PendingSync, runKey, SyncCard } from './sync-card.tsx';

type DetailTab = 'history' | 'mapping' | 'records' | 'settings';

const DETAIL_TABS: Array<{ id: DetailTab; label: string }> = [
  { id: 'history', label: 'Sync history' },
  { id: 'mapping', label: 'Field mapping' },
  { id: 'records', label: 'Records to review' },
  { id: 'settings', label: 'Settings' },
];

export function HrConnectorDetailPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const id = params.id ?? '';
  const path = { params: { path: { org, id } } };
  const queryClient = useQueryClient();
  const directory = useQuery(apiQuery('/api/v1/organizations/{org}/hris/directories/{id}', path));
  const reloadDirectory = () =>
    void invalidate(queryClient, '/api/v1/organizations/{org}/hris/directories/{id}');
  const connectors = useConnectors();
  const initialTab = new URLSearchParams(window.location.search).get('tab') as DetailTab | null;
  const [tab, setTab] = useState<DetailTab>(
    DETAIL_TABS.some((t) => t.id === initialTab) ? (initialTab as DetailTab) : 'history',
  );
  const [runsAfter, setRunsAfter] = useState('');
  /** A requested sync: the newest run before it, and how many reads it has waited. */
  const [pending, setPending] = useState<PendingSync | undefined>();
  const [finished, setFinished] = useState<SyncRun | undefined>();
  const [recordsVersion, setRecordsVersion] = useState(0);
  // While a sync is queued or running, the history is read again every second.
  const runs = useQuery({
    ...apiQuery('/api/v1/organizations/{org}/hris/directories/{id}/runs', {
      params: { path: { org, id }, query: { limit: 20, ...(runsAfter ? { after: runsAfter } : {}) } },
    }),
    refetchInterval: (query) =>
      pending || (!runsAfter && query.state.data?.data[0]?.status === 'running') ? 1000 : false,
  });
  const remove = useApiMutation(() =>
    unwrap(client.DELETE('/api/v1/organizations/{org}/hris/directories/{id}', path)),
  );
  const admin = can(session, 'admin');
  const newest = runsAfter ? undefined : runs.data?.data[0];
  const running = newest?.status === 'running';

  // Each read while a sync is pending: has it finished? A finished one refreshes the rest.
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new read (dataUpdatedAt) is the trigger
  useEffect(() => {
    if (!pending || !runs.data || runs.isPlaceholderData) return;
    if (newest && runKey(newest) !== pending.before && newest.status !== 'running') {
      setPending(undefined);
      setFinished(newest);
      setRecordsVersion((value) => value + 1);
      reloadDirectory();
      return;
    }
    setPending({ ...pending, polls: pending.polls + 1 });
  }, [runs.dataUpdatedAt]);

  const displayName = (d: HrDirectory) =>
    connectors.data?.data.find((c) => c.provider === d.provider)?.displayName ?? d.provider;

  return (
    <Loader state={directory} label="Loading HR connector…">
      {(d) => {
        const connector = connectors.data?.data.find((c) => c.provider === d.provider);
        /** A tab that needs the connector's description: waits for it, or says it is missing. */
        const withConnector = (render: (found: HrConnector) => ReactNode) =>
          connector ? (
            render(connector)
          ) : (
            <Loader state={connectors} label="Loading connector…">
              {() => <Empty title={`No connector ${d.provider} on this hub.`} />}
            </Loader>
          );
        const syncing = Boolean(pending) || running;
        return (
          <>
            <PageHeader
              title={d.name}
              subtitle={
                <>
                  {displayName(d)} · <StatusBadge status={d.status} /> · {intervalLabel(d.schedule)} · last
                  sync {when(d.sync.lastRunAt)}
                </>
              }
              actions={
                <>
                  <Link className="button secondary" to={`/admin/o/${org}/directories`}>
                    All directories
                  </Link>
                  {admin ? (
                    <Button
                      className="danger"
                      busy={remove.isPending}
                      busyLabel="Deleting…"
                      disabled={syncing}
                      title={syncing ? 'Wait for the sync to finish' : undefined}
                      onClick={() => {
                        if (
                          !window.confirm(
                            `Delete the HR connector "${d.name}"?\n\nIts HR records, sync history and stored secrets are removed. The people it created or matched stay, with their access, groups and HR attributes, but are no longer updated from ${displayName(d)}.`,
                          )
                        )
                          return;
                        remove.mutate(undefined, {
                          onSuccess: (result) =>
                            navigate(
                              `/admin/o/${org}/directories?deleted=${encodeURIComponent(d.name)}&records=${result.recordsRemoved}&users=${result.usersDetached}`,
                            ),
                        });
                      }}
                    >
                      Delete connector
                    </Button>
                  ) : null}
                </>
              }
            />
            <ErrorBox error={remove.error} />
            <SyncCard
              org={org}
              directory={d}
              connector={connector}
              displayName={displayName(d)}
              admin={admin}
              newest={newest}
              running={running}
              pending={pending}
              finished={finished}
              onStart={() => setFinished(undefined)}
              onRequested={(before) => {
                setRunsAfter('');
                setPending({ before, polls: 0 });
                setTab('history');
                void runs.refetch();
              }}
            />
            <Tabs
              tabs={DETAIL_TABS}
              current={tab}
              onSelect={(next) => {
                setTab(next as DetailTab);
                const url = new URL(window.location.href);
                url.searchParams.set('tab', next);
                window.history.replaceState(null, '', `${url.pathname}${url.search}`);
              }}
            />
            <div role="tabpanel" aria-label={DETAIL_TABS.find((t) => t.id === tab)?.label}>
              {tab === 'history' ? (
                <section className="card" aria-labelledby="runs-title">
                  <h2 id="runs-title">Sync history</h2>
                  <Loader state={runs} label="Loading sync runs…">
                    {(page) => <RunTable runs={page.data} org={org} directoryId={d.id} />}
                  </Loader>
                  <Pager after={runsAfter} next={runs.data?.nextCursor ?? null} onPage={setRunsAfter} />
                </section>
              ) : null}
              {tab === 'mapping'
                ? withConnector((found) => (
                    <MappingEditor
                      org={org}
                      directory={d}
                      connector={found}
                      admin={admin}
                      onSaved={reloadDirectory}
                    />
                  ))
                : null}
              {tab === 'records' ? (
                <RecordsToReview key={recordsVersion} org={org} directoryId={d.id} admin={admin} />
              ) : null}
              {tab === 'settings'
                ? withConnector((found) => (
                    <HrDirectoryEditor
                      org={org}
                      directory={d}
                      connector={found}
                      admin={admin}
                      onSaved={reloadDirectory}
                    />
                  ))
                : null}
            </div>
          </>
        );
      }}
    </Loader>
  );
}
