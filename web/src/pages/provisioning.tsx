/**
 * Provisioning: destinations (Thinkific, a SCIM app, a signed webhook) with their connection test,
 * per-person state, attempts, retry and reconcile; and the rules that decide who gets what there,
 * edited as a form (condition rows in all/any groups, effects per destination) or as JSON, with a
 * dry run showing who would be affected.
 */
import { type FormEvent, useState } from 'react';
import { api, can, enc, useAction, useApi } from '../api.ts';
import type { PageProps } from '../app.tsx';
import { attributeSections, ConditionFields, EffectFields, labelOf } from '../components/rule-fields.tsx';
import {
  Badge,
  Button,
  CopyField,
  Empty,
  ErrorBox,
  Field,
  Loader,
  PageHeader,
  StatusBadge,
  when,
} from '../components/ui.tsx';
import { Link } from '../router.tsx';
import {
  type ConditionForm,
  conditionProblems,
  conditionToForm,
  type EffectForm,
  effectProblems,
  effectsToForm,
  emptyEffect,
  type FormProblem,
  formToCondition,
  formToEffects,
  NotAForm,
  newConditionForm,
} from '../rule-forms.ts';

type Kind = 'thinkific' | 'scim' | 'webhook';

interface Destination {
  id: string;
  name: string;
  kind: Kind;
  enabled: boolean;
  settings: Record<string, unknown>;
  credentials: Record<string, '[set]'>;
  policy: { onRemoval: string[]; graceSeconds: number; drift: 'restore' | 'report' };
  rateLimit: { requests: number; perSeconds: number };
  concurrency: number;
  maxAttempts: number;
  generatedSecret?: string;
  createdAt: string;
  updatedAt: string;
}

interface State {
  destinationId: string;
  userId: string;
  status: string;
  remoteId: string | null;
  removalAfter: string | null;
  lastError: string | null;
  syncedAt: string | null;
  updatedAt: string;
}

interface Attempt {
  id: string;
  destinationId: string;
  userId: string;
  operation: string;
  outcome: 'succeeded' | 'failed';
  httpStatus: number | null;
  latencyMs: number;
  error: string | null;
  createdAt: string;
}

interface Rule {
  id: string;
  name: string;
  position: number;
  enabled: boolean;
  condition: Record<string, unknown>;
  effects: Array<Record<string, unknown>>;
  description: string;
}

/** A catalog check's finding: a course the destination lacks, a new group, an unreadable catalog. */
interface CatalogWarning {
  code: string;
  ruleId?: string;
  field: string;
  detail: string;
  fix: string;
}

/** A Thinkific school people are handed to signed in (SSO), and where its signing key lives. */
interface LmsSite {
  id: string;
  name: string;
  subdomain: string;
  ssoUrl: string;
  destinationId: string | null;
  defaultReturnTo: string | null;
}

interface DryRun {
  warnings: CatalogWarning[];
  usersEvaluated: number;
  affected: Array<{
    userId: string;
    email: string | null;
    destinationId: string;
    rules: string[];
    account: boolean;
    enrollments: Array<{ kind: string; productId: string; expiresAt: string | null }>;
    groups: string[];
    changes: string[];
  }>;
  truncated: boolean;
}

const KINDS: Record<Kind, string> = {
  thinkific: 'Thinkific',
  scim: 'SCIM 2.0 app',
  webhook: 'Signed webhook',
};

const REMOVAL_ACTIONS: Record<string, string> = {
  expire_enrollments: 'expire their enrollments',
  remove_from_groups: 'remove them from LMS groups',
  suspend: 'suspend the account',
  delete: 'delete the account',
};

const STATE_FILTERS = ['', 'pending', 'synced', 'retrying', 'failed', 'grace', 'drift'] as const;

/** The settings and write-only credential inputs of one kind of destination. */
function KindFields({
  kind,
  values,
  onChange,
  editing,
}: {
  kind: Kind;
  values: Record<string, string>;
  onChange: (key: string, value: string) => void;
  editing: boolean;
}) {
  const input = (key: string, label: string, hint?: string, secret = false) => (
    <Field label={label} htmlFor={`dest-${key}`} hint={hint}>
      <input
        id={`dest-${key}`}
        type={secret ? 'password' : 'text'}
        autoComplete="off"
        value={values[key] ?? ''}
        onChange={(e) => onChange(key, e.target.value)}
        placeholder={secret && editing ? 'unchanged (write-only)' : undefined}
      />
    </Field>
  );
  if (kind === 'thinkific') {
    return (
      <div className="grid2">
        {input('subdomain', 'Site subdomain', 'e.g. "acme" for acme.thinkific.com')}
        {input('baseUrl', 'API base URL', 'Default https://api.thinkific.com/api/public/v1')}
        {input(
          'apiKey',
          'API key',
          'Private app API key; stored encrypted, never shown again. Also signs the SSO handoffs to this site.',
          true,
        )}
        <Field
          label="RateLimit-Reset counts in"
          htmlFor="dest-rateLimitReset"
          hint="How the site's 429 answers say when to retry. Automatic learns it from the values the site sends."
        >
          <select
            id="dest-rateLimitReset"
            value={values.rateLimitReset ?? ''}
            onChange={(e) => onChange('rateLimitReset', e.target.value)}
          >
            <option value="">automatic</option>
            <option value="seconds">seconds until the reset</option>
            <option value="milliseconds">milliseconds until the reset</option>
          </select>
        </Field>
      </div>
    );
  }
  if (kind === 'scim') {
    return (
      <div className="grid2">
        {input('baseUrl', 'SCIM base URL', 'Ends in /scim/v2')}
        {input('token', 'Bearer token', 'Stored encrypted, never shown again.', true)}
      </div>
    );
  }
  return (
    <div className="grid2">
      {input('url', 'Webhook URL', 'Commands are POSTed here, signed (Standard Webhooks).')}
      {input('secret', 'Signing secret', 'whsec_…; leave empty to have one generated.', true)}
    </div>
  );
}

function splitValues(kind: Kind, values: Record<string, string>) {
  const pick = (keys: string[]) =>
    Object.fromEntries(keys.filter((key) => values[key]?.trim()).map((key) => [key, values[key]?.trim()]));
  if (kind === 'thinkific')
    return { settings: pick(['subdomain', 'baseUrl', 'rateLimitReset']), credentials: pick(['apiKey']) };
  if (kind === 'scim') return { settings: pick(['baseUrl']), credentials: pick(['token']) };
  return { settings: pick(['url']), credentials: pick(['secret']) };
}

export function DestinationsPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const base = `/api/v1/organizations/${enc(org)}/destinations`;
  const list = useApi<{ data: Destination[] }>(base);
  const [kind, setKind] = useState<Kind>('thinkific');
  const [name, setName] = useState('');
  const [values, setValues] = useState<Record<string, string>>({});
  const [created, setCreated] = useState<Destination | undefined>();
  const create = useAction(async () => {
    const { settings, credentials } = splitValues(kind, values);
    return api<Destination>('POST', base, { kind, name: name || KINDS[kind], settings, credentials });
  });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await create.run();
    if (result) {
      setCreated(result);
      setName('');
      setValues({});
      list.reload();
    }
  };
  return (
    <>
      <PageHeader
        title="Destinations"
        subtitle="Where people are provisioned: a Thinkific site, a SCIM app, or your own webhook."
        actions={
          <Link className="button secondary" to={`/admin/o/${org}/rules`}>
            Rules
          </Link>
        }
      />
      {created ? (
        <section className="card" aria-labelledby="created-title">
          <h2 id="created-title">{created.name} is ready</h2>
          {created.generatedSecret ? (
            <div className="secret-once" role="alert">
              <strong>Copy this signing secret now: it is shown only once.</strong>
              <CopyField label="Webhook signing secret" value={created.generatedSecret} secret />
            </div>
          ) : null}
          <div className="actions">
            <Link className="button primary" to={`/admin/o/${org}/destinations/${created.id}`}>
              Open destination
            </Link>
            <button type="button" className="secondary" onClick={() => setCreated(undefined)}>
              Done
            </button>
          </div>
        </section>
      ) : null}
      {can(session, 'admin') && !created ? (
        <form className="card form" onSubmit={submit} aria-label="New destination">
          <h2>New destination</h2>
          <div className="grid2">
            <Field label="Kind" htmlFor="dest-kind">
              <select
                id="dest-kind"
                value={kind}
                onChange={(e) => {
                  setKind(e.target.value as Kind);
                  setValues({});
                }}
              >
                {Object.entries(KINDS).map(([key, label]) => (
                  <option key={key} value={key}>
                    {label}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Name" htmlFor="dest-name">
              <input
                id="dest-name"
                value={name}
                onChange={(e) => setName(e.target.value)}
                placeholder={KINDS[kind]}
              />
            </Field>
          </div>
          <KindFields
            kind={kind}
            values={values}
            editing={false}
            onChange={(key, value) => setValues({ ...values, [key]: value })}
          />
          <ErrorBox error={create.error} />
          <div className="actions">
            <Button type="submit" className="primary" busy={create.busy} busyLabel="Creating…">
              Create destination
            </Button>
          </div>
        </form>
      ) : null}
      <Loader state={list} label="Loading destinations…">
        {(page) =>
          page.data.length === 0 ? (
            <Empty title="No destination yet.">Add one, then write rules that say who gets what there.</Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Kind</th>
                    <th>Status</th>
                    <th>Updated</th>
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((d) => (
                    <tr key={d.id}>
                      <td>
                        <Link to={`/admin/o/${org}/destinations/${d.id}`}>{d.name}</Link>
                      </td>
                      <td>{KINDS[d.kind]}</td>
                      <td>
                        <Badge tone={d.enabled ? 'ok' : 'neutral'}>
                          {d.enabled ? 'enabled' : 'disabled'}
                        </Badge>
                      </td>
                      <td>{when(d.updatedAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loader>
    </>
  );
}

export function DestinationDetailPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const base = `/api/v1/organizations/${enc(org)}/destinations/${enc(params.id ?? '')}`;
  const destination = useApi<Destination>(base);
  const [status, setStatus] = useState<(typeof STATE_FILTERS)[number]>('');
  const [statesAfter, setStatesAfter] = useState('');
  const [attemptsAfter, setAttemptsAfter] = useState('');
  const states = useApi<{ data: State[]; nextCursor: string | null }>(
    `${base}/states?limit=50${status ? `&status=${status}` : ''}${statesAfter ? `&after=${enc(statesAfter)}` : ''}`,
  );
  const attempts = useApi<{ data: Attempt[]; nextCursor: string | null }>(
    `${base}/attempts?limit=50${attemptsAfter ? `&after=${enc(attemptsAfter)}` : ''}`,
  );
  const [tested, setTested] = useState<{ latencyMs: number; at: string } | undefined>();
  const [queued, setQueued] = useState<string | undefined>();
  const test = useAction(async () => {
    setTested(undefined);
    return api<{ ok: true; latencyMs: number }>('POST', `${base}/test`);
  });
  const retry = useAction(async () => api<{ queued: number }>('POST', `${base}/retry`));
  const reconcile = useAction(async () => api<{ queued: true }>('POST', `${base}/reconcile`));
  const remove = useAction(async () => api('DELETE', base));
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
                    busy={test.busy}
                    busyLabel="Testing connection…"
                    onClick={async () => {
                      const result = await test.run();
                      if (result) setTested({ latencyMs: result.latencyMs, at: new Date().toISOString() });
                    }}
                  >
                    Test connection
                  </Button>
                  <Button
                    className="secondary"
                    busy={reconcile.busy}
                    onClick={async () => {
                      if (await reconcile.run())
                        setQueued('Reconcile queued: everyone is read back and repaired.');
                    }}
                  >
                    Reconcile now
                  </Button>
                  <Button
                    className="secondary"
                    busy={retry.busy}
                    onClick={async () => {
                      const result = await retry.run();
                      if (result) {
                        setQueued(
                          `Retry queued for ${result.queued} failed ${result.queued === 1 ? 'job' : 'jobs'}.`,
                        );
                        states.reload();
                      }
                    }}
                  >
                    Retry failed
                  </Button>
                </>
              ) : null
            }
          />
          <div aria-live="polite">
            {tested ? (
              <div className="notice ok-text" role="status">
                Connection works: the destination answered in {tested.latencyMs} ms.
              </div>
            ) : null}
            {queued ? <div className="notice">{queued}</div> : null}
          </div>
          <ErrorBox error={test.error ?? retry.error ?? reconcile.error ?? remove.error} />
          {admin ? (
            <DestinationEditor key={d.updatedAt} destination={d} base={base} onSaved={destination.reload} />
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
            <AttemptTable state={attempts} org={org} />
            <Pager after={attemptsAfter} next={attempts.data?.nextCursor ?? null} onPage={setAttemptsAfter} />
          </section>
          {admin ? (
            <div className="actions">
              <Button
                className="danger"
                busy={remove.busy}
                onClick={async () => {
                  if (
                    !window.confirm(
                      'Delete this destination and its provisioning state? Nothing is removed in the destination itself.',
                    )
                  )
                    return;
                  if ((await remove.run()) !== undefined) window.history.back();
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

/**
 * The SSO handoffs to this Thinkific site (LMS sites that post-login routes hand people to), signed
 * with this destination's API key: one credential, rotated once in the settings above. Sites that
 * still keep a copy of the key are offered to use this one instead.
 */
function SsoHandoffs({ org, destination, admin }: { org: string; destination: Destination; admin: boolean }) {
  const sitesBase = `/api/v1/organizations/${enc(org)}/lms-sites`;
  const sites = useApi<{ data: LmsSite[] }>(sitesBase);
  const subdomain =
    typeof destination.settings.subdomain === 'string' ? destination.settings.subdomain.toLowerCase() : '';
  const [name, setName] = useState(`${destination.name} sign-in`);
  const [returnTo, setReturnTo] = useState('');
  const add = useAction(async () =>
    api<LmsSite>('POST', sitesBase, {
      name,
      destinationId: destination.id,
      ...(returnTo.trim() ? { defaultReturnTo: returnTo.trim() } : {}),
    }),
  );
  const share = useAction(async (site: LmsSite) =>
    api<LmsSite>('PATCH', `${sitesBase}/${enc(site.id)}`, { destinationId: destination.id }),
  );
  const hasApiKey = 'apiKey' in destination.credentials;
  return (
    <section className="card" aria-labelledby="sso-title">
      <h2 id="sso-title">Single sign-on handoff</h2>
      <p className="muted">
        Post-login routes can hand people to {subdomain || 'this site'} signed in. The handoff is signed with
        this destination's API key: replace the key in the settings above and both use the new one.
      </p>
      <Loader state={sites} label="Loading LMS sites…">
        {(page) => {
          const signing = page.data.filter((site) => site.destinationId === destination.id);
          const copies = page.data.filter((site) => !site.destinationId && site.subdomain === subdomain);
          return (
            <>
              {signing.length === 0 && copies.length === 0 ? (
                <Empty title="No SSO handoff to this site yet." />
              ) : null}
              <ul className="plain">
                {signing.map((site) => (
                  <li key={site.id}>
                    <strong>{site.name}</strong> <Badge tone="ok">signs with this destination's key</Badge>{' '}
                    <span className="mono small">{site.ssoUrl}</span>
                  </li>
                ))}
                {copies.map((site) => (
                  <li key={site.id}>
                    <strong>{site.name}</strong> <Badge tone="warn">keeps its own copy of the key</Badge>{' '}
                    {admin && hasApiKey ? (
                      <Button
                        className="secondary small"
                        busy={share.busy}
                        onClick={async () => {
                          if (await share.run(site)) sites.reload();
                        }}
                      >
                        Use this destination's key
                      </Button>
                    ) : null}
                  </li>
                ))}
              </ul>
            </>
          );
        }}
      </Loader>
      <ErrorBox error={share.error} />
      {admin && hasApiKey ? (
        <form
          className="form"
          aria-label="New SSO handoff"
          onSubmit={async (event) => {
            event.preventDefault();
            if (await add.run()) {
              setReturnTo('');
              sites.reload();
            }
          }}
        >
          <div className="grid2">
            <Field label="Handoff name" htmlFor="sso-name">
              <input id="sso-name" value={name} onChange={(e) => setName(e.target.value)} />
            </Field>
            <Field
              label="Default return URL"
              htmlFor="sso-return-to"
              hint="Where Thinkific sends people after sign-in, unless a route says otherwise (optional)."
            >
              <input
                id="sso-return-to"
                type="url"
                value={returnTo}
                onChange={(e) => setReturnTo(e.target.value)}
                placeholder={`https://${subdomain || 'acme'}.thinkific.com/enrollments`}
              />
            </Field>
          </div>
          <ErrorBox error={add.error} />
          <div className="actions">
            <Button type="submit" className="secondary" busy={add.busy} busyLabel="Adding…">
              Add SSO handoff
            </Button>
          </div>
        </form>
      ) : !hasApiKey ? (
        <div className="warning">
          This destination connects with an OAuth token; Thinkific signs SSO only with the site's API key.
        </div>
      ) : null}
    </section>
  );
}

/** Cursor paging: the next page, and back to the first. */
export function Pager({
  after,
  next,
  onPage,
}: {
  after: string;
  next: string | null;
  onPage: (cursor: string) => void;
}) {
  if (!after && !next) return null;
  return (
    <div className="actions">
      {after ? (
        <button type="button" className="secondary small" onClick={() => onPage('')}>
          First page
        </button>
      ) : null}
      {next ? (
        <button type="button" className="secondary small" onClick={() => onPage(next)}>
          Next page
        </button>
      ) : null}
    </div>
  );
}

export function AttemptTable({
  state,
  org,
}: {
  state: ReturnType<typeof useApi<{ data: Attempt[]; nextCursor: string | null }>>;
  org: string;
}) {
  return (
    <Loader state={state} label="Loading attempts…">
      {(page) => <AttemptRows attempts={page.data} org={org} />}
    </Loader>
  );
}

export function AttemptRows({ attempts, org }: { attempts: Attempt[]; org: string }) {
  if (attempts.length === 0) return <Empty title="No attempt yet." />;
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Operation</th>
            <th>User</th>
            <th>Outcome</th>
            <th>HTTP</th>
            <th>Latency</th>
            <th>Error</th>
          </tr>
        </thead>
        <tbody>
          {attempts.map((a) => (
            <tr key={a.id}>
              <td>{when(a.createdAt)}</td>
              <td className="mono">{a.operation}</td>
              <td>
                <Link to={`/admin/o/${org}/users/${a.userId}`} className="mono">
                  {a.userId}
                </Link>
              </td>
              <td>
                <StatusBadge status={a.outcome} />
              </td>
              <td>{a.httpStatus ?? '—'}</td>
              <td>{a.latencyMs} ms</td>
              <td className="warn-text">{a.error ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function initialValues(d: Destination): Record<string, string> {
  return Object.fromEntries(
    Object.entries(d.settings)
      .filter(([, value]) => typeof value === 'string')
      .map(([key, value]) => [key, value as string]),
  );
}

function DestinationEditor({
  destination: d,
  base,
  onSaved,
}: {
  destination: Destination;
  base: string;
  onSaved: () => void;
}) {
  const [name, setName] = useState(d.name);
  const [enabled, setEnabled] = useState(d.enabled);
  const [values, setValues] = useState<Record<string, string>>(initialValues(d));
  const [drift, setDrift] = useState(d.policy.drift);
  const [grace, setGrace] = useState(String(d.policy.graceSeconds));
  const [onRemoval, setOnRemoval] = useState<string[]>(d.policy.onRemoval);
  const save = useAction(async () => {
    const { settings, credentials } = splitValues(d.kind, values);
    return api<Destination>('PATCH', base, {
      name,
      enabled,
      settings,
      ...(Object.keys(credentials).length > 0 ? { credentials } : {}),
      policy: { ...d.policy, onRemoval, drift, graceSeconds: Number(grace) },
    });
  });
  return (
    <form
      className="card form"
      aria-label="Edit destination"
      onSubmit={async (event) => {
        event.preventDefault();
        if (await save.run()) onSaved();
      }}
    >
      <h2>Settings</h2>
      <div className="grid2">
        <Field label="Name" htmlFor="dest-edit-name">
          <input id="dest-edit-name" value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <div className="field checkbox">
          <label>
            <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
          </label>
        </div>
      </div>
      <KindFields
        kind={d.kind}
        values={values}
        editing
        onChange={(key, value) => setValues({ ...values, [key]: value })}
      />
      <div className="muted small">
        Credentials set: {Object.keys(d.credentials).join(', ') || 'none'} (write-only: type a new value to
        replace it).
      </div>
      <div className="grid2">
        <Field label="When someone changes it by hand" htmlFor="dest-drift">
          <select
            id="dest-drift"
            value={drift}
            onChange={(e) => setDrift(e.target.value as 'restore' | 'report')}
          >
            <option value="restore">restore it</option>
            <option value="report">only report it</option>
          </select>
        </Field>
        <Field label="Grace before removals (seconds)" htmlFor="dest-grace">
          <input
            id="dest-grace"
            type="number"
            min={0}
            value={grace}
            onChange={(e) => setGrace(e.target.value)}
          />
        </Field>
      </div>
      <fieldset>
        <legend>When someone no longer qualifies</legend>
        {Object.entries(REMOVAL_ACTIONS).map(([key, label]) => (
          <div className="field checkbox" key={key}>
            <label>
              <input
                type="checkbox"
                checked={onRemoval.includes(key)}
                onChange={(e) =>
                  setOnRemoval(
                    e.target.checked ? [...onRemoval, key] : onRemoval.filter((value) => value !== key),
                  )
                }
              />{' '}
              {label}
            </label>
          </div>
        ))}
      </fieldset>
      <ErrorBox error={save.error} />
      <div className="actions">
        <Button type="submit" className="primary" busy={save.busy} busyLabel="Saving…">
          Save destination
        </Button>
      </div>
    </form>
  );
}

export function RulesPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const base = `/api/v1/organizations/${enc(org)}/provisioning/rules`;
  const rules = useApi<{ data: Rule[] }>(base);
  const destinations = useApi<{ data: Destination[] }>(`/api/v1/organizations/${enc(org)}/destinations`);
  const [editing, setEditing] = useState<Rule | 'new' | undefined>();
  const [saveWarnings, setSaveWarnings] = useState<CatalogWarning[]>([]);
  const toggle = useAction(async (rule: Rule) =>
    api<Rule>('POST', `${base}/${enc(rule.id)}/${rule.enabled ? 'disable' : 'enable'}`),
  );
  const remove = useAction(async (rule: Rule) => api('DELETE', `${base}/${enc(rule.id)}`));
  const admin = can(session, 'admin');
  const names = new Map((destinations.data?.data ?? []).map((d) => [d.id, d.name]));
  return (
    <>
      <PageHeader
        title="Provisioning rules"
        subtitle="Evaluated in order for every person: who gets an account, enrollments and groups, where."
        actions={
          admin && !editing ? (
            <button type="button" className="primary" onClick={() => setEditing('new')}>
              New rule
            </button>
          ) : null
        }
      />
      {editing ? (
        <RuleEditor
          key={editing === 'new' ? 'new' : editing.id}
          base={base}
          org={org}
          rule={editing === 'new' ? undefined : editing}
          destinations={destinations.data?.data ?? []}
          names={names}
          onDone={(saved, warnings) => {
            setEditing(undefined);
            setSaveWarnings(warnings ?? []);
            if (saved) rules.reload();
          }}
        />
      ) : null}
      {saveWarnings.length ? (
        <div className="card">
          <strong>Saved, but not everything could be checked:</strong>
          <CatalogWarnings warnings={saveWarnings} />
        </div>
      ) : null}
      <ErrorBox error={toggle.error ?? remove.error} />
      <Loader state={rules} label="Loading rules…">
        {(page) =>
          page.data.length === 0 ? (
            <Empty title="No rule yet.">
              A rule says: people matching this condition get this in that destination.
            </Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>#</th>
                    <th>Name</th>
                    <th>Condition</th>
                    <th>Destinations</th>
                    <th>Status</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((rule) => (
                    <tr key={rule.id}>
                      <td>{rule.position}</td>
                      <td>{rule.name}</td>
                      <td>{rule.description}</td>
                      <td>
                        {rule.effects
                          .map(
                            (effect) =>
                              names.get(String(effect.destinationId)) ?? String(effect.destinationId),
                          )
                          .join(', ')}
                      </td>
                      <td>
                        <Badge tone={rule.enabled ? 'ok' : 'neutral'}>
                          {rule.enabled ? 'enabled' : 'disabled'}
                        </Badge>
                      </td>
                      <td>
                        {admin ? (
                          <div className="actions">
                            <Button
                              className="secondary small"
                              busy={toggle.busy}
                              onClick={async () => {
                                if (await toggle.run(rule)) rules.reload();
                              }}
                            >
                              {rule.enabled ? 'Disable' : 'Enable'}
                            </Button>
                            <button
                              type="button"
                              className="secondary small"
                              onClick={() => setEditing(rule)}
                            >
                              Edit
                            </button>
                            <Button
                              className="danger small"
                              busy={remove.busy}
                              onClick={async () => {
                                if (
                                  !window.confirm(
                                    `Delete "${rule.name}"? People who only had it lose what it gave, per each destination's policy.`,
                                  )
                                )
                                  return;
                                if ((await remove.run(rule)) !== undefined) rules.reload();
                              }}
                            >
                              Delete
                            </Button>
                          </div>
                        ) : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loader>
    </>
  );
}

function parseJson(label: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${label} is not valid JSON: ${(error as Error).message}`);
  }
}

type EditorMode = 'form' | 'json';

interface EditorState {
  mode: EditorMode;
  condition: ConditionForm;
  effects: EffectForm[];
  conditionText: string;
  effectsText: string;
  /** Why the rule opened as JSON (it cannot be shown as a form). */
  notice?: string;
}

function initialEditor(rule: Rule | undefined, destinations: Destination[]): EditorState {
  if (!rule) {
    const effects = [emptyEffect(destinations[0]?.id ?? '')];
    const condition = newConditionForm();
    return {
      mode: 'form',
      condition,
      effects,
      conditionText: JSON.stringify(formToCondition(condition), null, 2),
      effectsText: JSON.stringify(formToEffects(effects), null, 2),
    };
  }
  const conditionText = JSON.stringify(rule.condition, null, 2);
  const effectsText = JSON.stringify(rule.effects, null, 2);
  try {
    return {
      mode: 'form',
      condition: conditionToForm(rule.condition),
      effects: effectsToForm(rule.effects),
      conditionText,
      effectsText,
    };
  } catch (error) {
    return {
      mode: 'json',
      condition: newConditionForm(),
      effects: [],
      conditionText,
      effectsText,
      notice: notAFormNotice(error),
    };
  }
}

function notAFormNotice(error: unknown): string {
  if (error instanceof NotAForm)
    return `This JSON cannot be shown as a form (${error.message}). Keep editing it as JSON; it is saved as written.`;
  return `This JSON cannot be shown as a form: ${(error as Error).message}. Fix it, or keep editing it as JSON.`;
}

function RuleEditor({
  base,
  org,
  rule,
  destinations,
  names,
  onDone,
}: {
  base: string;
  org: string;
  rule: Rule | undefined;
  destinations: Destination[];
  names: Map<string, string>;
  onDone: (saved: boolean, warnings?: CatalogWarning[]) => void;
}) {
  const [name, setName] = useState(rule?.name ?? '');
  const [editor, setEditor] = useState<EditorState>(() => initialEditor(rule, destinations));
  /** Once a dry run or save found problems, they follow every edit until fixed. */
  const [checked, setChecked] = useState(false);
  const [position, setPosition] = useState(rule ? String(rule.position) : '');
  const [result, setResult] = useState<DryRun | undefined>();
  const groups = useApi<{ data: Array<{ name: string }> }>(
    `/api/v1/organizations/${enc(org)}/groups?limit=200`,
  );
  const hrDirectories = useApi<{ data: Array<{ effectiveMapping: { custom?: Record<string, unknown> } }> }>(
    `/api/v1/organizations/${enc(org)}/hris/directories`,
  );
  const customAttributes = [
    ...new Set((hrDirectories.data?.data ?? []).flatMap((d) => Object.keys(d.effectiveMapping.custom ?? {}))),
  ].sort();
  const connections = useApi<{ data: Array<{ mapping: { attributes?: Record<string, unknown> } }> }>(
    `/api/v1/organizations/${enc(org)}/connections`,
  );
  const ssoAttributes = [
    ...new Set((connections.data?.data ?? []).flatMap((c) => Object.keys(c.mapping.attributes ?? {}))),
  ].sort();
  const sections = attributeSections(customAttributes, ssoAttributes);
  const groupNames = (groups.data?.data ?? []).map((group) => group.name);
  const formProblems = (state: EditorState): FormProblem[] =>
    state.mode === 'json'
      ? []
      : [
          ...conditionProblems(state.condition, (subject) => labelOf(sections, subject)),
          ...effectProblems(state.effects, new Set(destinations.map((d) => d.id))),
        ];
  const problems = checked ? formProblems(editor) : [];
  const toJson = () => {
    setChecked(false);
    setEditor({
      ...editor,
      mode: 'json',
      notice: undefined,
      conditionText: JSON.stringify(formToCondition(editor.condition), null, 2),
      effectsText: JSON.stringify(formToEffects(editor.effects), null, 2),
    });
  };
  const toForm = () => {
    try {
      const condition = conditionToForm(parseJson('The condition', editor.conditionText));
      const effects = effectsToForm(parseJson('The effects', editor.effectsText));
      setEditor({ ...editor, mode: 'form', condition, effects, notice: undefined });
    } catch (error) {
      setEditor({ ...editor, notice: notAFormNotice(error) });
    }
  };
  /** The rule as the API takes it, or undefined (with the problems shown) when the form is incomplete. */
  const draft = () => {
    setChecked(true);
    if (formProblems(editor).length) return undefined;
    return {
      name: name || 'Untitled rule',
      condition:
        editor.mode === 'form'
          ? formToCondition(editor.condition)
          : parseJson('The condition', editor.conditionText),
      effects:
        editor.mode === 'form' ? formToEffects(editor.effects) : parseJson('The effects', editor.effectsText),
    };
  };
  const dryRun = useAction(async () => {
    const body = draft();
    if (!body) return undefined;
    return api<DryRun>('POST', `${base}/dry-run`, { rule: { ...body, enabled: true }, limit: 200 });
  });
  const save = useAction(async () => {
    const body = draft();
    if (!body) return undefined;
    const full = { ...body, ...(position.trim() ? { position: Number(position) } : {}) };
    return rule
      ? api<Rule & { warnings?: CatalogWarning[] }>('PATCH', `${base}/${enc(rule.id)}`, full)
      : api<Rule & { warnings?: CatalogWarning[] }>('POST', base, full);
  });
  return (
    <form
      className="card form"
      aria-label={rule ? 'Edit rule' : 'New rule'}
      onSubmit={async (event) => {
        event.preventDefault();
        const saved = await save.run();
        if (saved) onDone(true, saved.warnings);
      }}
    >
      <h2>{rule ? `Edit ${rule.name}` : 'New rule'}</h2>
      <div className="grid2">
        <Field label="Rule name" htmlFor="rule-name">
          <input
            id="rule-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="Engineers"
          />
        </Field>
        <Field label="Position" htmlFor="rule-position" hint="1 is evaluated first; empty: last.">
          <input
            id="rule-position"
            type="number"
            min={1}
            value={position}
            onChange={(e) => setPosition(e.target.value)}
          />
        </Field>
      </div>
      <div className="row mode-switch">
        <span className="muted small">Edit as</span>
        <button
          type="button"
          className={editor.mode === 'form' ? 'primary small' : 'secondary small'}
          aria-pressed={editor.mode === 'form'}
          onClick={() => (editor.mode === 'form' ? undefined : toForm())}
        >
          Form
        </button>
        <button
          type="button"
          className={editor.mode === 'json' ? 'primary small' : 'secondary small'}
          aria-pressed={editor.mode === 'json'}
          onClick={() => (editor.mode === 'json' ? undefined : toJson())}
        >
          JSON
        </button>
      </div>
      {editor.notice ? (
        <div className="warning" role="status">
          {editor.notice}
        </div>
      ) : null}
      {editor.mode === 'form' ? (
        <>
          <section aria-labelledby="rule-condition-title">
            <h3 id="rule-condition-title">Who</h3>
            <ConditionFields
              form={editor.condition}
              onChange={(condition) => setEditor({ ...editor, condition })}
              sections={sections}
              groupNames={groupNames}
              invalid={problems.map((problem) => problem.field)}
            />
          </section>
          <section aria-labelledby="rule-effects-title">
            <h3 id="rule-effects-title">Gets what, where</h3>
            {destinations.length === 0 ? (
              <div className="warning">
                No destination yet: <Link to={`/admin/o/${org}/destinations`}>add one</Link> first.
              </div>
            ) : null}
            <EffectFields
              effects={editor.effects}
              onChange={(effects) => setEditor({ ...editor, effects })}
              destinations={destinations}
            />
          </section>
        </>
      ) : (
        <div className="grid2">
          <Field
            label="Condition (JSON)"
            htmlFor="rule-condition"
            hint={
              <>
                <code>all</code>/<code>any</code>/<code>not</code>, <code>group</code>, <code>role</code>,{' '}
                <code>source</code>, <code>attribute</code>, <code>always</code>.
              </>
            }
          >
            <textarea
              id="rule-condition"
              className="mono"
              rows={10}
              spellCheck={false}
              value={editor.conditionText}
              onChange={(e) => setEditor({ ...editor, conditionText: e.target.value })}
            />
          </Field>
          <Field
            label="Effects (JSON)"
            htmlFor="rule-effects"
            hint={
              <>
                Per destination: <code>account</code>, <code>enrollments</code> [{'{'}kind, id, activation,
                expiry{'}'}], <code>groups</code>. Destinations:{' '}
                {destinations.map((d) => `${d.name} = ${d.id}`).join('; ') || 'none yet'}.
              </>
            }
          >
            <textarea
              id="rule-effects"
              className="mono"
              rows={10}
              spellCheck={false}
              value={editor.effectsText}
              onChange={(e) => setEditor({ ...editor, effectsText: e.target.value })}
            />
          </Field>
        </div>
      )}
      {problems.length ? (
        <div className="error" role="alert">
          <strong>Fix {problems.length === 1 ? 'this' : `these ${problems.length} fields`} first:</strong>
          <ul>
            {problems.map((problem) => (
              <li key={problem.message}>{problem.message}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <ErrorBox error={save.error ?? dryRun.error} />
      <div className="actions">
        <Button
          className="secondary"
          busy={dryRun.busy}
          busyLabel="Evaluating everyone…"
          onClick={async () => {
            setResult(undefined);
            const found = await dryRun.run();
            if (found) setResult(found);
          }}
        >
          Dry run
        </Button>
        <Button type="submit" className="primary" busy={save.busy} busyLabel="Saving…">
          {rule ? 'Save rule' : 'Create rule'}
        </Button>
        <button type="button" className="secondary" onClick={() => onDone(false)}>
          Cancel
        </button>
      </div>
      {result ? (
        <section aria-labelledby="dry-run-title" className="preview">
          <h3 id="dry-run-title">
            Dry run: {result.affected.length} affected of {result.usersEvaluated} evaluated
            {result.truncated ? ' (first 200 shown)' : ''}
          </h3>
          <CatalogWarnings warnings={result.warnings} />
          {result.affected.length === 0 ? (
            <Empty title="Nobody would be affected." />
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Person</th>
                    <th>Destination</th>
                    <th>Would get</th>
                    <th>Changes</th>
                  </tr>
                </thead>
                <tbody>
                  {result.affected.map((a) => (
                    <tr key={`${a.userId}:${a.destinationId}`}>
                      <td>{a.email ?? a.userId}</td>
                      <td>{names.get(a.destinationId) ?? a.destinationId}</td>
                      <td>
                        {[
                          a.account ? 'account' : '',
                          ...a.enrollments.map((e) => `${e.kind} ${e.productId}`),
                          ...a.groups.map((g) => `group ${g}`),
                        ]
                          .filter(Boolean)
                          .join(', ')}
                      </td>
                      <td>{a.changes.join('; ') || 'none'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      ) : null}
    </form>
  );
}

/** What a catalog check found: courses a destination lacks, groups to be created, catalogs unread. */
function CatalogWarnings({ warnings }: { warnings: CatalogWarning[] }) {
  if (!warnings.length) return null;
  return (
    <div className="warning" role="status">
      <ul>
        {warnings.map((warning) => (
          <li key={`${warning.code}:${warning.ruleId ?? ''}:${warning.field}`}>
            {warning.detail} <span className="muted">({warning.field})</span> {warning.fix}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** A person's provisioning on their user page: state per destination, latest attempts, retry. */
export function UserProvisioning({
  session,
  org,
  userId,
}: {
  session: PageProps['session'];
  org: string;
  userId: string;
}) {
  const base = `/api/v1/organizations/${enc(org)}/users/${enc(userId)}/provisioning`;
  const provisioning = useApi<{ states: State[]; attempts: Attempt[] }>(base);
  const destinations = useApi<{ data: Destination[] }>(`/api/v1/organizations/${enc(org)}/destinations`);
  const names = new Map((destinations.data?.data ?? []).map((d) => [d.id, d.name]));
  const [queued, setQueued] = useState<number | undefined>();
  const sync = useAction(async () => api<{ queued: number }>('POST', `${base}/sync`));
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
        <Button className="secondary" onClick={provisioning.reload}>
          Refresh
        </Button>
        {can(session, 'admin') ? (
          <Button
            className="primary"
            busy={sync.busy}
            busyLabel="Queuing…"
            onClick={async () => {
              const result = await sync.run();
              if (result) {
                setQueued(result.queued);
                provisioning.reload();
              }
            }}
          >
            Retry provisioning
          </Button>
        ) : null}
      </div>
    </section>
  );
}
