/**
 * HR connectors (Personio, BambooHR, Workday, SuccessFactors, Merge) and directory pulls (Google
 * Workspace, Microsoft Graph): create one from its connector's guided fields, test the connection,
 * edit and preview the field mapping on real records, sync on demand and follow the sync history,
 * review the records no user matched; and the organization's HR settings (match order, what the
 * coaching context API may return).
 */
import { type FormEvent, type ReactNode, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, api, can, enc, type Session, useAction, useApi } from '../api.ts';
import type { PageProps } from '../app.tsx';
import { SchemaFields } from '../components/schema-fields.tsx';
import {
  Badge,
  Button,
  Empty,
  ErrorBox,
  Field,
  Loader,
  PageHeader,
  Spinner,
  StatusBadge,
  Tabs,
  when,
} from '../components/ui.tsx';
import {
  attributeNameFor,
  bandsToText,
  CANONICAL_FIELDS,
  CONTEXT_FACTS,
  type CustomRow,
  connectionFix,
  type FieldMapping,
  mappingOverrides,
  parseBands,
  readableReason,
} from '../hr-forms.ts';
import { Link, navigate } from '../router.tsx';
import {
  type CredentialVariant,
  collectValues,
  credentialVariants,
  FormValueError,
  type FormValues,
  fieldsOf,
  humanize,
  type JsonSchema,
  valuesFromConfig,
} from '../schema-form.ts';
import { Pager } from './provisioning.tsx';

interface HrConnector {
  provider: string;
  displayName: string;
  kinds: string[];
  auth: { mode: string };
  baseUrl: string;
  incremental: { supported: boolean; style?: string; signalsDeletions: boolean };
  config: JsonSchema;
  credentials: JsonSchema;
  defaultMapping: FieldMapping;
}

interface Schedule {
  intervalMinutes: number | null;
  fullSyncEveryHours: number;
}

interface HrDirectory {
  id: string;
  kind: 'hris' | 'directory';
  provider: string;
  name: string;
  status: 'active' | 'disabled';
  config: Record<string, unknown>;
  credentials: { set: boolean; keys: string[] };
  mapping: FieldMapping;
  effectiveMapping: FieldMapping;
  schedule: Schedule;
  joiners: 'list' | 'create';
  leavers: 'deactivate' | 'ignore';
  maxDeletionRatio: number;
  sync: {
    lastRunAt: string | null;
    lastSuccessAt: string | null;
    lastFullSyncAt: string | null;
    incremental: boolean;
    lastError: { code: string; message: string; at: string } | null;
  };
  createdAt: string;
  updatedAt: string;
}

interface RunStats {
  pages: number;
  read: number;
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  unmatched: number;
  ambiguous: number;
  usersCreated: number;
  usersUpdated: number;
  usersDeactivated: number;
  usersReactivated: number;
}

interface SyncRun {
  id: string;
  directoryId: string;
  mode: 'full' | 'incremental';
  trigger: 'schedule' | 'manual';
  status: 'running' | 'succeeded' | 'failed' | 'abandoned';
  attempts: number;
  resumable: boolean;
  stats: RunStats;
  error: { code: string; message: string; at: string; page?: number } | null;
  startedAt: string;
  finishedAt: string | null;
}

type CanonicalValue = string | string[] | null;

interface HrRecord {
  sourceId: string;
  userId: string | null;
  matchStatus: 'matched' | 'created' | 'unmatched' | 'ambiguous';
  matchDetail: { reason: string; candidates?: string[] } | null;
  employee: { fields: Record<string, CanonicalValue>; custom: Record<string, CanonicalValue> };
  deleted: boolean;
  changedAt: string;
}

interface Preview {
  records: Array<{
    sourceId: string;
    source: Record<string, unknown>;
    mapped: { fields: Record<string, CanonicalValue>; custom: Record<string, CanonicalValue> };
  }>;
  unmappedSourceFields: string[];
}

interface SourceField {
  key: string;
  label: string;
  type?: string;
  custom?: boolean;
}

interface HrSettings {
  matchBy: Array<'employeeId' | 'workEmail'>;
  contextFields: string[];
  newInRoleDays: number;
  levelBands: Array<{ band: string; levels: string[] }>;
}

interface ConnectionCheck {
  ok: boolean;
  detail: string;
  code?: string;
}

const MATCH_KEYS = { employeeId: 'Employee id', workEmail: 'Work email' } as const;

const INTERVALS: Array<{ value: string; label: string }> = [
  { value: '', label: 'only on demand' },
  { value: '15', label: 'every 15 minutes' },
  { value: '60', label: 'every hour' },
  { value: '360', label: 'every 6 hours' },
  { value: '1440', label: 'every day' },
];

const RECORD_FILTERS = ['unmatched', 'ambiguous', 'created', 'matched', ''] as const;

const hrisBase = (org: string) => `/api/v1/organizations/${enc(org)}/hris`;
export const hrConnectorPath = (org: string, id: string) => `/admin/o/${org}/directories/hr/${id}`;

function showValue(value: CanonicalValue | undefined): string {
  if (value === null || value === undefined) return '—';
  return Array.isArray(value) ? value.join(', ') : value;
}

function useConnectors() {
  return useApi<{ data: HrConnector[] }>('/api/v1/hris/connectors');
}

function intervalLabel(schedule: Schedule): string {
  if (schedule.intervalMinutes === null) return 'on demand';
  return (
    INTERVALS.find((item) => item.value === String(schedule.intervalMinutes))?.label ??
    `every ${schedule.intervalMinutes} minutes`
  );
}

/** A client-side check failing, shown like the API's own problems. */
function formProblem(error: FormValueError, prefix: string): ApiError {
  return new ApiError(0, {
    code: 'invalid_input',
    detail: error.message,
    field: `${prefix}.${error.field}`,
    fix: 'Fill it in and submit again.',
  });
}

// ---------------------------------------------------------------------------------------------
// Directories page: the HR and directory connectors of the organization.
// ---------------------------------------------------------------------------------------------

export function HrConnectorsSection({ session, org }: { session: Session; org: string }) {
  const list = useApi<{ data: HrDirectory[] }>(`${hrisBase(org)}/directories`);
  const connectors = useConnectors();
  const [adding, setAdding] = useState(false);
  const [created, setCreated] = useState<HrDirectory | undefined>();
  const names = new Map((connectors.data?.data ?? []).map((c) => [c.provider, c.displayName]));
  const admin = can(session, 'admin');
  const search = new URLSearchParams(window.location.search);
  const deleted = search.get('deleted');
  return (
    <section className="card" aria-labelledby="hr-title">
      {deleted ? (
        <div className="notice ok-text" role="status">
          HR connector {deleted} deleted: {search.get('records') ?? 0} HR records removed;{' '}
          {search.get('users') ?? 0} people kept, no longer updated from it.
        </div>
      ) : null}
      <div className="page-header">
        <div>
          <h2 id="hr-title">HR connectors</h2>
          <div className="muted">
            HR systems and directories Switchboard reads people from, on a schedule or on demand.
          </div>
        </div>
        <div className="actions">
          <Link className="button secondary" to={`/admin/o/${org}/hr-settings`}>
            HR settings
          </Link>
          {admin && !adding && !created ? (
            <button type="button" className="primary" onClick={() => setAdding(true)}>
              Add HR connector
            </button>
          ) : null}
        </div>
      </div>
      {created ? (
        <section className="notice" aria-labelledby="hr-created-title">
          <h3 id="hr-created-title">{created.name} is saved</h3>
          <p>Test the connection now: it signs in and reads one record.</p>
          <ConnectionTest
            base={`${hrisBase(org)}/directories/${enc(created.id)}`}
            displayName={names.get(created.provider) ?? created.provider}
          />
          <div className="actions">
            <Link className="button primary" to={hrConnectorPath(org, created.id)}>
              Open connector
            </Link>
            <button type="button" className="secondary" onClick={() => setCreated(undefined)}>
              Done
            </button>
          </div>
        </section>
      ) : null}
      {adding ? (
        <Loader state={connectors} label="Loading connectors…">
          {(page) => (
            <NewHrConnectorForm
              org={org}
              connectors={page.data}
              onCancel={() => setAdding(false)}
              onCreated={(directory) => {
                setAdding(false);
                setCreated(directory);
                list.reload();
              }}
            />
          )}
        </Loader>
      ) : null}
      <Loader state={list} label="Loading HR connectors…">
        {(page) =>
          page.data.length === 0 ? (
            <Empty title="No HR connector yet.">
              Connect the organization's HR system to keep job titles, departments, managers and leavers up to
              date.
            </Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>System</th>
                    <th>Status</th>
                    <th>Schedule</th>
                    <th>Last sync</th>
                    <th>Last error</th>
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((d) => (
                    <tr key={d.id}>
                      <td>
                        <Link to={hrConnectorPath(org, d.id)}>{d.name}</Link>
                      </td>
                      <td>{names.get(d.provider) ?? d.provider}</td>
                      <td>
                        <StatusBadge status={d.status} />
                      </td>
                      <td>{intervalLabel(d.schedule)}</td>
                      <td>{when(d.sync.lastRunAt)}</td>
                      <td className="warn-text">{d.sync.lastError?.message ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loader>
    </section>
  );
}

function NewHrConnectorForm({
  org,
  connectors,
  onCreated,
  onCancel,
}: {
  org: string;
  connectors: HrConnector[];
  onCreated: (directory: HrDirectory) => void;
  onCancel: () => void;
}) {
  const [provider, setProvider] = useState(connectors[0]?.provider ?? '');
  const connector = connectors.find((c) => c.provider === provider);
  const [name, setName] = useState('');
  const [config, setConfig] = useState<FormValues>({});
  const [secrets, setSecrets] = useState<FormValues>({});
  const variants = useMemo(() => credentialVariants(connector?.credentials), [connector]);
  const [variantType, setVariantType] = useState('');
  const variant = variants.find((v) => v.type === variantType) ?? variants[0];
  const configSpecs = useMemo(() => fieldsOf(connector?.config, { secret: false }), [connector]);
  const [interval, setIntervalMinutes] = useState('60');
  const [joiners, setJoiners] = useState<'list' | 'create'>('list');
  const [leavers, setLeavers] = useState<'deactivate' | 'ignore'>('deactivate');
  const [problem, setProblem] = useState<ApiError | undefined>();
  const create = useAction(async (body: Record<string, unknown>) =>
    api<HrDirectory>('POST', `${hrisBase(org)}/directories`, body),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!connector || !variant) return;
    setProblem(undefined);
    let body: Record<string, unknown>;
    try {
      const credentials = collectValues(variant.fields, secrets, { requireAll: true });
      body = {
        name: name.trim() || connector.displayName,
        kind: connector.kinds.includes('hris') ? 'hris' : 'directory',
        provider,
        config: collectValues(configSpecs, config, { requireAll: true }),
        credentials: variant.type ? { type: variant.type, ...credentials } : credentials,
        schedule: { intervalMinutes: interval ? Number(interval) : null },
        joiners,
        leavers,
      };
    } catch (error) {
      if (error instanceof FormValueError) {
        setProblem(
          formProblem(error, configSpecs.some((s) => s.key === error.field) ? 'config' : 'credentials'),
        );
        return;
      }
      throw error;
    }
    const result = await create.run(body);
    if (result) {
      setSecrets({});
      onCreated(result);
    }
  };
  const hrSystems = connectors.filter((c) => c.kinds.includes('hris'));
  const directories = connectors.filter((c) => !c.kinds.includes('hris'));
  const invalid = (create.error ?? problem)?.field;
  return (
    <form className="form" onSubmit={submit} aria-label="New HR connector">
      <h3>New HR connector</h3>
      <div className="grid2">
        <Field
          label="HR system"
          htmlFor="hr-provider"
          hint={
            connector
              ? `Signs in with ${connector.auth.mode.replaceAll('_', ' ')}; ${connector.incremental.supported ? 'reads only changes between full syncs' : 'reads everyone on every sync'}.`
              : undefined
          }
        >
          <select
            id="hr-provider"
            value={provider}
            onChange={(e) => {
              setProvider(e.target.value);
              setConfig({});
              setSecrets({});
              setVariantType('');
            }}
          >
            <optgroup label="HR systems">
              {hrSystems.map((c) => (
                <option key={c.provider} value={c.provider}>
                  {c.displayName}
                </option>
              ))}
            </optgroup>
            <optgroup label="Directories">
              {directories.map((c) => (
                <option key={c.provider} value={c.provider}>
                  {c.displayName}
                </option>
              ))}
            </optgroup>
          </select>
        </Field>
        <Field label="Connector name" htmlFor="hr-name">
          <input
            id="hr-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder={connector?.displayName}
          />
        </Field>
      </div>
      {configSpecs.length ? (
        <fieldset>
          <legend>Settings</legend>
          <SchemaFields
            idPrefix="hr-config"
            specs={configSpecs}
            values={config}
            editing={false}
            invalidField={invalid?.replace(/^config\./, '')}
            onChange={(key, value) => setConfig({ ...config, [key]: value })}
          />
        </fieldset>
      ) : null}
      <fieldset>
        <legend>Credentials</legend>
        <p className="muted small">Stored encrypted; never shown again, not even to you.</p>
        <SignInMethod
          id="hr-auth"
          variants={variants}
          value={variant?.type ?? ''}
          onChange={(type) => {
            setVariantType(type);
            setSecrets({});
          }}
        />
        {variant ? (
          <SchemaFields
            idPrefix="hr-secret"
            specs={variant.fields}
            values={secrets}
            editing={false}
            invalidField={invalid?.replace(/^credentials\./, '')}
            onChange={(key, value) => setSecrets({ ...secrets, [key]: value })}
          />
        ) : null}
      </fieldset>
      <div className="grid2">
        <Field label="Sync schedule" htmlFor="hr-interval" hint="You can always sync on demand too.">
          <select id="hr-interval" value={interval} onChange={(e) => setIntervalMinutes(e.target.value)}>
            {INTERVALS.map((item) => (
              <option key={item.value} value={item.value}>
                {item.label}
              </option>
            ))}
          </select>
        </Field>
        <Field
          label="People no user matches"
          htmlFor="hr-joiners"
          hint="Pre-hires (onboarding) get their user on their start date, not before."
        >
          <select
            id="hr-joiners"
            value={joiners}
            onChange={(e) => setJoiners(e.target.value as 'list' | 'create')}
          >
            <option value="list">list them for review</option>
            <option value="create">create a user for each (with a work email)</option>
          </select>
        </Field>
        <Field label="Leavers" htmlFor="hr-leavers">
          <select
            id="hr-leavers"
            value={leavers}
            onChange={(e) => setLeavers(e.target.value as 'deactivate' | 'ignore')}
          >
            <option value="deactivate">deprovision them (provisioning removes access)</option>
            <option value="ignore">only update their HR profile</option>
          </select>
        </Field>
      </div>
      <ErrorBox error={problem ?? create.error} />
      <div className="actions">
        <Button type="submit" className="primary" busy={create.busy} busyLabel="Creating…">
          Create HR connector
        </Button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** "Test connection": signs in and reads one record; says what to do when that fails. */
/** The sign-in method picker (say basic or OAuth), shown only when a connector offers several. */
function SignInMethod({
  id,
  variants,
  value,
  onChange,
}: {
  id: string;
  variants: readonly CredentialVariant[];
  value: string;
  onChange: (type: string) => void;
}) {
  if (variants.length < 2) return null;
  return (
    <Field label="Sign-in method" htmlFor={id}>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {variants.map((v) => (
          <option key={v.type} value={v.type}>
            {v.label}
          </option>
        ))}
      </select>
    </Field>
  );
}

function ConnectionTest({
  base,
  displayName,
  disabled,
}: {
  base: string;
  displayName: string;
  disabled?: boolean;
}) {
  const [result, setResult] = useState<ConnectionCheck | undefined>();
  const test = useAction(async () => {
    setResult(undefined);
    return api<ConnectionCheck>('POST', `${base}/test`);
  });
  return (
    <div className="connection-test">
      <Button
        className="secondary"
        busy={test.busy}
        busyLabel="Testing connection…"
        disabled={disabled}
        onClick={async () => {
          const checked = await test.run();
          if (checked) setResult(checked);
        }}
      >
        Test connection
      </Button>
      <div aria-live="polite">
        {test.busy ? (
          <Spinner label={`Signing in to ${displayName} and reading one record…`} />
        ) : result?.ok ? (
          <div className="notice ok-text" role="status">
            Connection works: {result.detail}
          </div>
        ) : null}
      </div>
      {result && !result.ok ? (
        <div className="error" role="alert">
          <strong>Connection failed: {result.detail}</strong>
          <div className="fix">{connectionFix(result.code, displayName)}</div>
          {result.code ? <div className="muted small">{result.code}</div> : null}
        </div>
      ) : null}
      <ErrorBox error={test.error} />
    </div>
  );
}

// ---------------------------------------------------------------------------------------------
// Connector detail: sync, history, mapping, records, settings.
// ---------------------------------------------------------------------------------------------

type DetailTab = 'history' | 'mapping' | 'records' | 'settings';

const DETAIL_TABS: Array<{ id: DetailTab; label: string }> = [
  { id: 'history', label: 'Sync history' },
  { id: 'mapping', label: 'Field mapping' },
  { id: 'records', label: 'Records to review' },
  { id: 'settings', label: 'Settings' },
];

/** The newest run as a key, to tell when a requested sync has started and finished. */
function runKey(run: SyncRun | undefined): string {
  return run ? `${run.id}:${run.attempts}` : '';
}

export function HrConnectorDetailPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const id = params.id ?? '';
  const base = `${hrisBase(org)}/directories/${enc(id)}`;
  const directory = useApi<HrDirectory>(base);
  const connectors = useConnectors();
  const initialTab = new URLSearchParams(window.location.search).get('tab') as DetailTab | null;
  const [tab, setTab] = useState<DetailTab>(
    DETAIL_TABS.some((t) => t.id === initialTab) ? (initialTab as DetailTab) : 'history',
  );
  const [runsAfter, setRunsAfter] = useState('');
  const runs = useApi<{ data: SyncRun[]; nextCursor: string | null }>(
    `${base}/runs?limit=20${runsAfter ? `&after=${enc(runsAfter)}` : ''}`,
  );
  const [mode, setMode] = useState<'auto' | 'full' | 'incremental'>('auto');
  /** A requested sync: the newest run before it, and how many polls it has waited. */
  const [pending, setPending] = useState<{ before: string; polls: number } | undefined>();
  const [finished, setFinished] = useState<SyncRun | undefined>();
  const [recordsVersion, setRecordsVersion] = useState(0);
  const sync = useAction(async () =>
    api<{ jobId: string | null; mode: string }>('POST', `${base}/sync`, { mode }),
  );
  const remove = useAction(async () =>
    api<{ recordsRemoved: number; usersDetached: number }>('DELETE', base),
  );
  const admin = can(session, 'admin');
  const newest = runsAfter ? undefined : runs.data?.data[0];
  const running = newest?.status === 'running';

  // While a sync is queued or running, poll the history; a finished one refreshes the rest.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs.data changes after every poll, scheduling the next one
  useEffect(() => {
    if (!runs.data || runs.loading) return;
    if (pending) {
      if (newest && runKey(newest) !== pending.before && newest.status !== 'running') {
        setPending(undefined);
        setFinished(newest);
        setRecordsVersion((value) => value + 1);
        directory.reload();
        return;
      }
    } else if (!running) {
      return;
    }
    const timer = setTimeout(() => {
      if (pending) setPending({ ...pending, polls: pending.polls + 1 });
      runs.reload();
    }, 1000);
    return () => clearTimeout(timer);
  }, [runs.data, runs.loading]);

  const displayName = (d: HrDirectory) =>
    connectors.data?.data.find((c) => c.provider === d.provider)?.displayName ?? d.provider;

  return (
    <Loader state={directory} label="Loading HR connector…">
      {(d) => {
        const connector = connectors.data?.data.find((c) => c.provider === d.provider);
        /** A tab that needs the connector's description: waits for it, or says it is missing. */
        const withConnector = (render: (found: NonNullable<typeof connector>) => ReactNode) =>
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
                      busy={remove.busy}
                      busyLabel="Deleting…"
                      disabled={syncing}
                      title={syncing ? 'Wait for the sync to finish' : undefined}
                      onClick={async () => {
                        if (
                          !window.confirm(
                            `Delete the HR connector "${d.name}"?\n\nIts HR records, sync history and stored secrets are removed. The people it created or matched stay, with their access, groups and HR attributes, but are no longer updated from ${displayName(d)}.`,
                          )
                        )
                          return;
                        const result = await remove.run();
                        if (result)
                          navigate(
                            `/admin/o/${org}/directories?deleted=${enc(d.name)}&records=${result.recordsRemoved}&users=${result.usersDetached}`,
                          );
                      }}
                    >
                      Delete connector
                    </Button>
                  ) : null}
                </>
              }
            />
            <ErrorBox error={remove.error} />
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
                  <ConnectionTest base={base} displayName={displayName(d)} />
                  <form
                    className="toolbar"
                    aria-label="Sync now"
                    onSubmit={async (event) => {
                      event.preventDefault();
                      setFinished(undefined);
                      const before = runKey(runsAfter ? undefined : runs.data?.data[0]);
                      if (await sync.run()) {
                        setRunsAfter('');
                        setPending({ before, polls: 0 });
                        setTab('history');
                        runs.reload();
                      }
                    }}
                  >
                    <label htmlFor="sync-mode">Read</label>
                    <select
                      id="sync-mode"
                      value={mode}
                      onChange={(e) => setMode(e.target.value as typeof mode)}
                    >
                      <option value="auto">changes when possible (auto)</option>
                      <option value="full">everyone (full)</option>
                      {connector?.incremental.supported !== false ? (
                        <option value="incremental">only changes (incremental)</option>
                      ) : null}
                    </select>
                    <Button
                      type="submit"
                      className="primary"
                      busy={sync.busy || syncing}
                      busyLabel="Syncing…"
                    >
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
                    Sync {finished.status}: {finished.stats.read} read, {finished.stats.usersCreated} users
                    created, {finished.stats.usersUpdated} updated, {finished.stats.usersDeactivated}{' '}
                    deactivated, {finished.stats.unmatched} unmatched.
                    {finished.error ? ` ${finished.error.message}` : ''}
                  </div>
                ) : null}
              </div>
            </section>
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
                      directory={d}
                      connector={found}
                      base={base}
                      admin={admin}
                      onSaved={directory.reload}
                    />
                  ))
                : null}
              {tab === 'records' ? (
                <RecordsToReview key={recordsVersion} base={base} org={org} admin={admin} />
              ) : null}
              {tab === 'settings'
                ? withConnector((found) => (
                    <HrDirectoryEditor
                      directory={d}
                      connector={found}
                      base={base}
                      admin={admin}
                      onSaved={directory.reload}
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

function SyncProgress({ run, waited }: { run: SyncRun | undefined; waited: number }) {
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

function RunTable({ runs, org, directoryId }: { runs: SyncRun[]; org: string; directoryId: string }) {
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

export function HrRunPage({ params }: PageProps) {
  const org = params.org ?? '';
  const directoryId = params.id ?? '';
  const run = useApi<SyncRun>(`${hrisBase(org)}/runs/${enc(params.runId ?? '')}`);
  // A running sync: refresh its counts.
  // biome-ignore lint/correctness/useExhaustiveDependencies: run.data changes after every poll, scheduling the next one
  useEffect(() => {
    if (run.data?.status !== 'running' || run.loading) return;
    const timer = setTimeout(run.reload, 1000);
    return () => clearTimeout(timer);
  }, [run.data, run.loading]);
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

// ---------------------------------------------------------------------------------------------
// Field mapping: source field → canonical field, custom attributes, preview, save.
// ---------------------------------------------------------------------------------------------

function MappingEditor({
  directory: d,
  connector,
  base,
  admin,
  onSaved,
}: {
  directory: HrDirectory;
  connector: HrConnector;
  base: string;
  admin: boolean;
  onSaved: () => void;
}) {
  const sourceFields = useApi<{ data: SourceField[] }>(`${base}/source-fields`);
  const [fields, setFields] = useState<Record<string, string>>(() =>
    Object.fromEntries(CANONICAL_FIELDS.map((field) => [field, d.effectiveMapping.fields[field] ?? ''])),
  );
  const nextRow = useRef(0);
  const [custom, setCustom] = useState<CustomRow[]>(() =>
    Object.entries(d.effectiveMapping.custom).map(([name, source]) => ({
      row: nextRow.current++,
      name,
      source,
    })),
  );
  const [preview, setPreview] = useState<Preview | undefined>();
  const [saved, setSaved] = useState(false);
  const overrides = mappingOverrides(connector.defaultMapping, fields, custom, d.mapping.values);
  const runPreview = useAction(async () =>
    api<Preview>('POST', `${base}/mapping/preview`, { mapping: overrides, limit: 3 }),
  );
  const save = useAction(async () => api<HrDirectory>('PATCH', base, { mapping: overrides }));
  const labels = new Map((sourceFields.data?.data ?? []).map((field) => [field.key, field.label]));
  const addCustom = (source = '') => {
    setCustom([...custom, { row: nextRow.current++, name: source ? attributeNameFor(source) : '', source }]);
    setPreview(undefined);
  };
  const changed = () => {
    setPreview(undefined);
    setSaved(false);
  };
  return (
    <form
      className="card form"
      aria-label="Field mapping"
      onSubmit={async (event) => {
        event.preventDefault();
        if (await save.run()) {
          setSaved(true);
          onSaved();
        }
      }}
    >
      <h2>Field mapping</h2>
      <p className="muted">
        Which {connector.displayName} field fills each Switchboard field. Empty: not read. Defaults come with
        the connector; custom fields become custom profile attributes.
      </p>
      {sourceFields.error ? (
        <div className="warning">
          Could not list {connector.displayName}'s fields ({sourceFields.error.detail}); type field keys by
          hand.
        </div>
      ) : null}
      <datalist id="hr-source-fields">
        {(sourceFields.data?.data ?? []).map((field) => (
          <option key={field.key} value={field.key}>
            {field.label}
          </option>
        ))}
      </datalist>
      <fieldset disabled={!admin}>
        <legend>Switchboard fields</legend>
        <div className="table-wrap">
          <table className="mapping">
            <thead>
              <tr>
                <th>Switchboard field</th>
                <th>{connector.displayName} field</th>
                <th>Connector default</th>
              </tr>
            </thead>
            <tbody>
              {CANONICAL_FIELDS.map((field) => {
                const standard = connector.defaultMapping.fields[field] ?? '';
                const chosen = fields[field] ?? '';
                return (
                  <tr key={field}>
                    <td>
                      <label htmlFor={`map-${field}`}>{humanize(field)}</label>
                    </td>
                    <td>
                      <input
                        id={`map-${field}`}
                        className="mono"
                        list="hr-source-fields"
                        value={chosen}
                        placeholder="not read"
                        onChange={(e) => {
                          setFields({ ...fields, [field]: e.target.value });
                          changed();
                        }}
                      />
                      {chosen && labels.get(chosen) ? <div className="hint">{labels.get(chosen)}</div> : null}
                    </td>
                    <td className="mono small">
                      {standard || '—'}
                      {chosen.trim() !== standard ? (
                        <>
                          {' '}
                          <Badge tone="warn">changed</Badge>
                        </>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </fieldset>
      <fieldset disabled={!admin}>
        <legend>Custom attributes</legend>
        {custom.length === 0 ? (
          <p className="muted small">
            None. A custom HR field (a shirt size, a cost code) can be kept as a custom profile attribute.
          </p>
        ) : null}
        {custom.map((row, index) => (
          <div className="row" key={row.row}>
            <Field label={`Attribute name ${index + 1}`} htmlFor={`custom-name-${row.row}`}>
              <input
                id={`custom-name-${row.row}`}
                value={row.name}
                placeholder="shirtSize"
                onChange={(e) => {
                  setCustom(
                    custom.map((item) => (item.row === row.row ? { ...item, name: e.target.value } : item)),
                  );
                  changed();
                }}
              />
            </Field>
            <Field label={`Source field ${index + 1}`} htmlFor={`custom-source-${row.row}`}>
              <input
                id={`custom-source-${row.row}`}
                className="mono"
                list="hr-source-fields"
                value={row.source}
                onChange={(e) => {
                  setCustom(
                    custom.map((item) => (item.row === row.row ? { ...item, source: e.target.value } : item)),
                  );
                  changed();
                }}
              />
            </Field>
            <button
              type="button"
              className="secondary small"
              aria-label={`Remove custom attribute ${row.name || index + 1}`}
              onClick={() => {
                setCustom(custom.filter((item) => item.row !== row.row));
                changed();
              }}
            >
              Remove
            </button>
          </div>
        ))}
        <button type="button" className="secondary small" onClick={() => addCustom()}>
          Add custom attribute
        </button>
      </fieldset>
      {Object.keys(d.mapping.values).length ? (
        <p className="muted small">
          Value translations of this connector ({Object.keys(d.mapping.values).join(', ')}) are kept as they
          are.
        </p>
      ) : null}
      <ErrorBox error={runPreview.error ?? save.error} />
      {admin ? (
        <div className="actions">
          <Button
            className="secondary"
            busy={runPreview.busy}
            busyLabel="Reading records…"
            onClick={async () => {
              const result = await runPreview.run();
              if (result) setPreview(result);
            }}
          >
            Preview
          </Button>
          <Button type="submit" className="primary" busy={save.busy} busyLabel="Saving…">
            Save mapping
          </Button>
          {saved ? (
            <span className="ok-text" role="status">
              Mapping saved; the next sync uses it.
            </span>
          ) : null}
        </div>
      ) : (
        <p className="muted small">Your role can read the mapping; admins change and preview it.</p>
      )}
      {preview ? (
        <MappingPreview
          preview={preview}
          displayName={connector.displayName}
          onMapCustom={admin ? (source) => addCustom(source) : undefined}
        />
      ) : null}
    </form>
  );
}

function MappingPreview({
  preview,
  displayName,
  onMapCustom,
}: {
  preview: Preview;
  displayName: string;
  onMapCustom: ((source: string) => void) | undefined;
}) {
  const shown = CANONICAL_FIELDS.filter((field) =>
    preview.records.some(
      (record) => record.mapped.fields[field] !== undefined && record.mapped.fields[field] !== null,
    ),
  );
  const customNames = [...new Set(preview.records.flatMap((record) => Object.keys(record.mapped.custom)))];
  return (
    <section className="preview" aria-labelledby="hr-preview-title" data-testid="hr-mapping-preview">
      <h3 id="hr-preview-title">
        Preview: {preview.records.length} {preview.records.length === 1 ? 'record' : 'records'} from{' '}
        {displayName}, mapped (not saved)
      </h3>
      {preview.records.length === 0 ? (
        <Empty title={`${displayName} returned no record.`}>
          Nothing to preview: add people there first.
        </Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Field</th>
                {preview.records.map((record) => (
                  <th key={record.sourceId} className="mono">
                    {record.sourceId}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {shown.map((field) => (
                <tr key={field}>
                  <th scope="row">{humanize(field)}</th>
                  {preview.records.map((record) => (
                    <td key={record.sourceId}>{showValue(record.mapped.fields[field])}</td>
                  ))}
                </tr>
              ))}
              {customNames.map((name) => (
                <tr key={`custom.${name}`}>
                  <th scope="row">
                    {name} <span className="muted small">(custom)</span>
                  </th>
                  {preview.records.map((record) => (
                    <td key={record.sourceId}>{showValue(record.mapped.custom[name])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {preview.unmappedSourceFields.length ? (
        <div>
          <h4>Fields of these records no mapping uses</h4>
          <ul className="chips">
            {preview.unmappedSourceFields.map((source) => (
              <li key={source} className="chip">
                <span className="mono">{source}</span>
                {onMapCustom ? (
                  <button
                    type="button"
                    className="secondary small"
                    aria-label={`Keep ${source} as a custom attribute`}
                    onClick={() => onMapCustom(source)}
                  >
                    Keep
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </section>
  );
}

// ---------------------------------------------------------------------------------------------
// Records: unmatched and ambiguous ones to review, and all of them.
// ---------------------------------------------------------------------------------------------

function RecordsToReview({ base, org, admin }: { base: string; org: string; admin: boolean }) {
  const [filter, setFilter] = useState<(typeof RECORD_FILTERS)[number]>('unmatched');
  const [after, setAfter] = useState('');
  const records = useApi<{ data: HrRecord[]; nextCursor: string | null }>(
    `${base}/records?limit=50${filter ? `&match=${filter}` : ''}${after ? `&after=${enc(after)}` : ''}`,
  );
  return (
    <section className="card" aria-labelledby="records-title">
      <h2 id="records-title">HR records</h2>
      <p className="muted">
        Each person the HR system sent, and the user they were matched to. Unmatched and ambiguous ones need a
        decision: link them to the right user.
      </p>
      <div className="toolbar">
        <label htmlFor="record-filter">Show</label>
        <select
          id="record-filter"
          value={filter}
          onChange={(e) => {
            setFilter(e.target.value as (typeof RECORD_FILTERS)[number]);
            setAfter('');
          }}
        >
          <option value="unmatched">unmatched (no user found)</option>
          <option value="ambiguous">ambiguous (several candidates)</option>
          <option value="created">created a user</option>
          <option value="matched">matched a user</option>
          <option value="">all</option>
        </select>
      </div>
      <Loader state={records} label="Loading records…">
        {(page) =>
          page.data.length === 0 ? (
            <Empty
              title={filter === 'unmatched' || filter === 'ambiguous' ? `No ${filter} record.` : 'No record.'}
            >
              {filter === 'unmatched' || filter === 'ambiguous'
                ? 'Nothing to review.'
                : 'Sync to read people.'}
            </Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Source id</th>
                    <th>Name</th>
                    <th>Work email</th>
                    <th>Employee id</th>
                    <th>Match</th>
                    <th>User</th>
                    {admin ? <th /> : null}
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((record) => (
                    <RecordRow
                      key={record.sourceId}
                      record={record}
                      org={org}
                      base={base}
                      admin={admin}
                      onLinked={records.reload}
                    />
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loader>
      <Pager after={after} next={records.data?.nextCursor ?? null} onPage={setAfter} />
    </section>
  );
}

function RecordRow({
  record,
  org,
  base,
  admin,
  onLinked,
}: {
  record: HrRecord;
  org: string;
  base: string;
  admin: boolean;
  onLinked: () => void;
}) {
  const [userId, setUserId] = useState(record.matchDetail?.candidates?.[0] ?? '');
  const link = useAction(async () =>
    api('POST', `${base}/records/${enc(record.sourceId)}/link`, { userId: userId.trim() }),
  );
  const fields = record.employee.fields;
  const name =
    showValue(fields.displayName ?? null) !== '—'
      ? showValue(fields.displayName ?? null)
      : [fields.preferredName ?? fields.firstName, fields.lastName].filter(Boolean).join(' ') || '—';
  const review = record.matchStatus === 'unmatched' || record.matchStatus === 'ambiguous';
  return (
    <tr>
      <td className="mono">
        {record.sourceId}
        {record.deleted ? (
          <>
            {' '}
            <Badge tone="neutral">gone from source</Badge>
          </>
        ) : null}
      </td>
      <td>{name}</td>
      <td>{showValue(fields.workEmail ?? null)}</td>
      <td className="mono">{showValue(fields.employeeNumber ?? null)}</td>
      <td>
        <StatusBadge status={record.matchStatus} />
        {record.matchDetail ? (
          <div className="muted small">{readableReason(record.matchDetail.reason)}</div>
        ) : null}
        {record.matchDetail?.candidates?.length ? (
          <div className="small">
            Candidates:{' '}
            {record.matchDetail.candidates.map((candidate, index) => (
              <span key={candidate}>
                {index ? ', ' : ''}
                <Link to={`/admin/o/${org}/users/${candidate}`} className="mono">
                  {candidate}
                </Link>
              </span>
            ))}
          </div>
        ) : null}
      </td>
      <td>
        {record.userId ? (
          <Link to={`/admin/o/${org}/users/${record.userId}`} className="mono">
            {record.userId}
          </Link>
        ) : (
          '—'
        )}
      </td>
      {admin ? (
        <td>
          {review ? (
            <form
              className="toolbar"
              aria-label={`Link record ${record.sourceId}`}
              onSubmit={async (event) => {
                event.preventDefault();
                if ((await link.run()) !== undefined) onLinked();
              }}
            >
              <label htmlFor={`link-${record.sourceId}`} className="visually-hidden">
                User id for record {record.sourceId}
              </label>
              <input
                id={`link-${record.sourceId}`}
                className="mono"
                value={userId}
                placeholder="usr_…"
                onChange={(e) => setUserId(e.target.value)}
              />
              <Button type="submit" className="secondary small" busy={link.busy} disabled={!userId.trim()}>
                Link
              </Button>
              <ErrorBox error={link.error} />
            </form>
          ) : null}
        </td>
      ) : null}
    </tr>
  );
}

// ---------------------------------------------------------------------------------------------
// Connector settings: name, status, connector settings, credentials, schedule, policies.
// ---------------------------------------------------------------------------------------------

function HrDirectoryEditor({
  directory: d,
  connector,
  base,
  admin,
  onSaved,
}: {
  directory: HrDirectory;
  connector: HrConnector;
  base: string;
  admin: boolean;
  onSaved: () => void;
}) {
  const configSpecs = useMemo(() => fieldsOf(connector.config, { secret: false }), [connector]);
  const variants = useMemo(() => credentialVariants(connector.credentials), [connector]);
  const [variantType, setVariantType] = useState(variants[0]?.type ?? '');
  const variant = variants.find((v) => v.type === variantType) ?? variants[0];
  const [name, setName] = useState(d.name);
  const [status, setStatus] = useState(d.status);
  const [config, setConfig] = useState<FormValues>(() => valuesFromConfig(configSpecs, d.config));
  const [secrets, setSecrets] = useState<FormValues>({});
  const [interval, setIntervalMinutes] = useState(
    d.schedule.intervalMinutes === null ? '' : String(d.schedule.intervalMinutes),
  );
  const [fullEvery, setFullEvery] = useState(String(d.schedule.fullSyncEveryHours));
  const [joiners, setJoiners] = useState(d.joiners);
  const [leavers, setLeavers] = useState(d.leavers);
  const [deletionPercent, setDeletionPercent] = useState(String(Math.round(d.maxDeletionRatio * 100)));
  const [problem, setProblem] = useState<ApiError | undefined>();
  const [saved, setSaved] = useState(false);
  const save = useAction(async (body: Record<string, unknown>) => api<HrDirectory>('PATCH', base, body));
  const intervals = INTERVALS.some((item) => item.value === interval)
    ? INTERVALS
    : [...INTERVALS, { value: interval, label: `every ${interval} minutes` }];
  const typedSecrets = Object.values(secrets).some((value) => typeof value === 'string' && value.trim());
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(undefined);
    setSaved(false);
    let body: Record<string, unknown>;
    try {
      body = {
        name,
        status,
        config: collectValues(configSpecs, config, { requireAll: true }),
        schedule: {
          intervalMinutes: interval ? Number(interval) : null,
          fullSyncEveryHours: Number(fullEvery),
        },
        joiners,
        leavers,
        maxDeletionRatio: Number(deletionPercent) / 100,
      };
      if (typedSecrets && variant) {
        // Secrets are replaced whole: every one of the chosen method is needed.
        const credentials = collectValues(variant.fields, secrets, { requireAll: true });
        body.credentials = variant.type ? { type: variant.type, ...credentials } : credentials;
      }
    } catch (error) {
      if (error instanceof FormValueError) {
        setProblem(
          formProblem(error, configSpecs.some((s) => s.key === error.field) ? 'config' : 'credentials'),
        );
        return;
      }
      throw error;
    }
    if (await save.run(body)) {
      setSecrets({});
      setSaved(true);
      onSaved();
    }
  };
  const invalid = (save.error ?? problem)?.field;
  return (
    <form className="card form" aria-label="Connector settings" onSubmit={submit}>
      <h2>Settings</h2>
      <fieldset disabled={!admin}>
        <legend>Connector</legend>
        <div className="grid2">
          <Field label="Connector name" htmlFor="hr-edit-name">
            <input id="hr-edit-name" value={name} onChange={(e) => setName(e.target.value)} />
          </Field>
          <Field label="Status" htmlFor="hr-edit-status" hint="A disabled connector is not synced.">
            <select
              id="hr-edit-status"
              value={status}
              onChange={(e) => setStatus(e.target.value as HrDirectory['status'])}
            >
              <option value="active">active</option>
              <option value="disabled">disabled</option>
            </select>
          </Field>
        </div>
        <SchemaFields
          idPrefix="hr-config"
          specs={configSpecs}
          values={config}
          editing
          invalidField={invalid?.replace(/^config\./, '')}
          onChange={(key, value) => setConfig({ ...config, [key]: value })}
        />
      </fieldset>
      <fieldset disabled={!admin}>
        <legend>Credentials</legend>
        <p className="muted small">
          Stored: {d.credentials.keys.filter((key) => key !== 'type').join(', ') || 'none'} (write-only: type
          new values to replace them all).
        </p>
        <SignInMethod
          id="hr-edit-auth"
          variants={variants}
          value={variant?.type ?? ''}
          onChange={(type) => {
            setVariantType(type);
            setSecrets({});
          }}
        />
        {variant && admin ? (
          <SchemaFields
            idPrefix="hr-secret"
            specs={variant.fields}
            values={secrets}
            editing
            invalidField={invalid?.replace(/^credentials\./, '')}
            onChange={(key, value) => setSecrets({ ...secrets, [key]: value })}
          />
        ) : null}
      </fieldset>
      <fieldset disabled={!admin}>
        <legend>Schedule and policies</legend>
        <div className="grid2">
          <Field label="Sync schedule" htmlFor="hr-edit-interval">
            <select
              id="hr-edit-interval"
              value={interval}
              onChange={(e) => setIntervalMinutes(e.target.value)}
            >
              {intervals.map((item) => (
                <option key={item.value} value={item.value}>
                  {item.label}
                </option>
              ))}
            </select>
          </Field>
          {connector.incremental.supported ? (
            <Field
              label="Full sync every (hours)"
              htmlFor="hr-edit-full"
              hint={
                connector.incremental.signalsDeletions
                  ? 'Between full syncs only changes are read.'
                  : 'Only full syncs notice people removed from the source.'
              }
            >
              <input
                id="hr-edit-full"
                type="number"
                min={1}
                max={720}
                value={fullEvery}
                onChange={(e) => setFullEvery(e.target.value)}
              />
            </Field>
          ) : null}
          <Field
            label="People no user matches"
            htmlFor="hr-edit-joiners"
            hint="Pre-hires (onboarding) get their user on their start date, not before."
          >
            <select
              id="hr-edit-joiners"
              value={joiners}
              onChange={(e) => setJoiners(e.target.value as HrDirectory['joiners'])}
            >
              <option value="list">list them for review</option>
              <option value="create">create a user for each (with a work email)</option>
            </select>
          </Field>
          <Field label="Leavers" htmlFor="hr-edit-leavers">
            <select
              id="hr-edit-leavers"
              value={leavers}
              onChange={(e) => setLeavers(e.target.value as HrDirectory['leavers'])}
            >
              <option value="deactivate">deprovision them (provisioning removes access)</option>
              <option value="ignore">only update their HR profile</option>
            </select>
          </Field>
          <Field
            label="Stop a full sync that would remove more than (%)"
            htmlFor="hr-edit-deletions"
            hint="An emptied report or a lost permission is not a mass leave (applies above 10 people)."
          >
            <input
              id="hr-edit-deletions"
              type="number"
              min={0}
              max={100}
              value={deletionPercent}
              onChange={(e) => setDeletionPercent(e.target.value)}
            />
          </Field>
        </div>
      </fieldset>
      <ErrorBox error={problem ?? save.error} />
      {admin ? (
        <div className="actions">
          <Button type="submit" className="primary" busy={save.busy} busyLabel="Saving…">
            Save settings
          </Button>
          {saved ? (
            <span className="ok-text" role="status">
              Settings saved.
            </span>
          ) : null}
        </div>
      ) : null}
    </form>
  );
}

// ---------------------------------------------------------------------------------------------
// Organization HR settings: match order and the coaching-context allow-list.
// ---------------------------------------------------------------------------------------------

export function HrSettingsPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const settings = useApi<HrSettings>(`${hrisBase(org)}/settings`);
  return (
    <>
      <PageHeader
        title="HR settings"
        subtitle="How HR records find their users, and what the coaching context API may tell applications."
        actions={
          <Link className="button secondary" to={`/admin/o/${org}/directories`}>
            Directories
          </Link>
        }
      />
      <Loader state={settings} label="Loading HR settings…">
        {(current) => (
          <HrSettingsEditor
            org={org}
            current={current}
            admin={can(session, 'admin')}
            onSaved={settings.reload}
          />
        )}
      </Loader>
    </>
  );
}

function HrSettingsEditor({
  org,
  current,
  admin,
  onSaved,
}: {
  org: string;
  current: HrSettings;
  admin: boolean;
  onSaved: () => void;
}) {
  const [first, setFirst] = useState<string>(current.matchBy[0] ?? 'employeeId');
  const [second, setSecond] = useState<string>(current.matchBy[1] ?? '');
  const known = new Set<string>([...CANONICAL_FIELDS, ...CONTEXT_FACTS]);
  const [allowed, setAllowed] = useState<Set<string>>(
    () => new Set(current.contextFields.filter((field) => known.has(field))),
  );
  const [customFields, setCustomFields] = useState(
    current.contextFields
      .filter((field) => field.startsWith('custom.'))
      .map((field) => field.slice('custom.'.length))
      .join(', '),
  );
  const [newInRole, setNewInRole] = useState(String(current.newInRoleDays));
  const [bands, setBands] = useState(bandsToText(current.levelBands));
  const [problem, setProblem] = useState<ApiError | undefined>();
  const [saved, setSaved] = useState(false);
  const save = useAction(async (body: Record<string, unknown>) =>
    api<HrSettings>('PATCH', `${hrisBase(org)}/settings`, body),
  );
  const toggle = (field: string, on: boolean) => {
    const next = new Set(allowed);
    if (on) next.add(field);
    else next.delete(field);
    setAllowed(next);
    setSaved(false);
  };
  const checkboxes = (fields: readonly string[]) => (
    <div className="check-grid">
      {fields.map((field) => (
        <div className="field checkbox" key={field}>
          <label>
            <input
              type="checkbox"
              checked={allowed.has(field)}
              onChange={(e) => toggle(field, e.target.checked)}
            />{' '}
            {humanize(field)}
          </label>
        </div>
      ))}
    </div>
  );
  return (
    <form
      className="card form"
      aria-label="HR settings"
      onSubmit={async (event) => {
        event.preventDefault();
        setProblem(undefined);
        setSaved(false);
        let levelBands: HrSettings['levelBands'];
        try {
          levelBands = parseBands(bands);
        } catch (error) {
          if (error instanceof FormValueError) {
            setProblem(
              new ApiError(0, {
                code: 'invalid_input',
                detail: error.message,
                field: 'levelBands',
                fix: 'Correct the line and save again.',
              }),
            );
            return;
          }
          throw error;
        }
        const custom = customFields
          .split(/[,\s]+/)
          .map((name) => name.trim().replace(/^custom\./, ''))
          .filter(Boolean)
          .map((name) => `custom.${name}`);
        const body = {
          matchBy: second && second !== first ? [first, second] : [first],
          contextFields: [
            ...[...CANONICAL_FIELDS, ...CONTEXT_FACTS].filter((field) => allowed.has(field)),
            ...custom,
          ],
          newInRoleDays: Number(newInRole),
          levelBands,
        };
        if (await save.run(body)) {
          setSaved(true);
          onSaved();
        }
      }}
    >
      <fieldset disabled={!admin}>
        <legend>Matching HR records to users</legend>
        <p className="muted small">
          Each HR record is matched to an existing user by these keys, in order. A key that finds several
          users makes the record ambiguous, to review on the connector's page.
        </p>
        <div className="grid2">
          <Field label="Match first by" htmlFor="match-first">
            <select
              id="match-first"
              value={first}
              onChange={(e) => {
                setFirst(e.target.value);
                if (second === e.target.value) setSecond('');
                setSaved(false);
              }}
            >
              {Object.entries(MATCH_KEYS).map(([key, label]) => (
                <option key={key} value={key}>
                  {label}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Then by" htmlFor="match-second">
            <select
              id="match-second"
              value={second}
              onChange={(e) => {
                setSecond(e.target.value);
                setSaved(false);
              }}
            >
              <option value="">nothing else</option>
              {Object.entries(MATCH_KEYS)
                .filter(([key]) => key !== first)
                .map(([key, label]) => (
                  <option key={key} value={key}>
                    {label}
                  </option>
                ))}
            </select>
          </Field>
        </div>
      </fieldset>
      <fieldset disabled={!admin}>
        <legend>Coaching context: what applications may read</legend>
        <p className="muted small">
          The context API (GET /api/v1/users/:id/context) returns only what is ticked here. Nothing else
          leaves Switchboard.
        </p>
        <h3>HR fields</h3>
        {checkboxes(CANONICAL_FIELDS)}
        <h3>Derived facts</h3>
        {checkboxes(CONTEXT_FACTS)}
        <div className="grid2">
          <Field
            label="Custom attributes"
            htmlFor="context-custom"
            hint="Names of custom attributes to allow, separated by commas (e.g. shirtSize)."
          >
            <input
              id="context-custom"
              value={customFields}
              onChange={(e) => {
                setCustomFields(e.target.value);
                setSaved(false);
              }}
            />
          </Field>
          <Field label="New in role: promoted within (days)" htmlFor="new-in-role">
            <input
              id="new-in-role"
              type="number"
              min={1}
              max={3650}
              value={newInRole}
              onChange={(e) => setNewInRole(e.target.value)}
            />
          </Field>
        </div>
        <Field label="Level bands" htmlFor="level-bands" hint='One band a line: "senior: L5, L6".'>
          <textarea id="level-bands" rows={4} value={bands} onChange={(e) => setBands(e.target.value)} />
        </Field>
      </fieldset>
      <ErrorBox error={problem ?? save.error} />
      {admin ? (
        <div className="actions">
          <Button type="submit" className="primary" busy={save.busy} busyLabel="Saving…">
            Save HR settings
          </Button>
          {saved ? (
            <span className="ok-text" role="status">
              HR settings saved.
            </span>
          ) : null}
        </div>
      ) : (
        <p className="muted small">Your role can read these settings; admins change them.</p>
      )}
    </form>
  );
}
