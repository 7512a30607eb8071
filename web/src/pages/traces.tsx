/** Login traces: the list per organization, one trace step by step, and lookup by trace id. */
import { type FormEvent, useState } from 'react';
import { api, enc, useAction, useApi } from '../api.ts';
import type { PageProps } from '../app.tsx';
import { Button, Empty, ErrorBox, Loader, PageHeader, StatusBadge, when } from '../components/ui.tsx';
import { Link, navigate } from '../router.tsx';

export interface TraceStep {
  at: string;
  step: string;
  ok: boolean;
  message: string;
  data?: Record<string, unknown>;
}

export interface Trace {
  id: string;
  organizationId: string;
  connectionId: string | null;
  connectionName: string | null;
  protocol: string;
  status: 'started' | 'succeeded' | 'failed';
  errorCode: string | null;
  reason: string | null;
  email: string | null;
  userId: string | null;
  ip: string | null;
  steps: TraceStep[];
  createdAt: string;
  finishedAt: string | null;
}

export function TraceSteps({ steps }: { steps: TraceStep[] }) {
  if (steps.length === 0) return <Empty title="No steps recorded yet." />;
  return (
    <ol className="steps">
      {steps.map((step, index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: steps are append-only and never reorder
        <li key={`${step.step}-${index}`} className={step.ok ? 'step ok' : 'step bad'}>
          <div className="row">
            <span className="step-mark" aria-hidden="true">
              {step.ok ? '✓' : '✗'}
            </span>
            <span className="visually-hidden">{step.ok ? 'Passed:' : 'Failed:'}</span>
            <strong>{step.step.replaceAll('_', ' ')}</strong>
            <span className="muted small">{when(step.at)}</span>
          </div>
          <div>{step.message}</div>
          {step.data && Object.keys(step.data).length ? (
            <details>
              <summary>Details</summary>
              <pre className="mono small">{JSON.stringify(step.data, null, 2)}</pre>
            </details>
          ) : null}
        </li>
      ))}
    </ol>
  );
}

export function TracesPage({ params }: PageProps) {
  const org = params.org ?? '';
  // Links (the overview's "needs attention") may open the list filtered: ?status=failed&errorCode=...
  const [initial] = useState(() => {
    const search = new URLSearchParams(window.location.search);
    return {
      status: search.get('status') ?? '',
      email: search.get('email') ?? '',
      errorCode: search.get('errorCode') ?? '',
    };
  });
  const [status, setStatus] = useState(initial.status);
  const [email, setEmail] = useState(initial.email);
  const [errorCode, setErrorCode] = useState(initial.errorCode);
  const [filters, setFilters] = useState(initial);
  const query = new URLSearchParams({ limit: '50' });
  if (filters.status) query.set('status', filters.status);
  if (filters.email) query.set('email', filters.email);
  if (filters.errorCode) query.set('errorCode', filters.errorCode);
  const list = useApi<{ data: Trace[]; nextCursor: string | null }>(
    `/api/v1/organizations/${enc(org)}/login-traces?${query}`,
  );
  return (
    <>
      <PageHeader title="Login traces" subtitle="Every sign-in, step by step. Newest first." />
      <TraceSearch />
      <form
        className="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters({ status, email: email.trim(), errorCode: errorCode.trim() });
        }}
      >
        <label htmlFor="t-status">Status</label>
        <select id="t-status" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">Any</option>
          <option value="succeeded">Succeeded</option>
          <option value="failed">Failed</option>
          <option value="started">Started</option>
        </select>
        <label htmlFor="t-email">Email</label>
        <input id="t-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        <label htmlFor="t-error">Error code</label>
        <input
          id="t-error"
          className="mono"
          placeholder="signature_invalid"
          value={errorCode}
          onChange={(e) => setErrorCode(e.target.value)}
        />
        <button type="submit" className="secondary">
          Filter
        </button>
        <button type="button" className="secondary" onClick={list.reload}>
          Refresh
        </button>
      </form>
      <Loader state={list} label="Loading login traces…">
        {(page) =>
          page.data.length === 0 ? (
            <Empty title="No login traces match.">
              Traces appear as people sign in; they are kept for 30 days by default.
            </Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Status</th>
                    <th>Email</th>
                    <th>Connection</th>
                    <th>Error</th>
                    <th>Trace</th>
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((trace) => (
                    <tr key={trace.id}>
                      <td>{when(trace.createdAt)}</td>
                      <td>
                        <StatusBadge status={trace.status} />
                      </td>
                      <td>{trace.email ?? '—'}</td>
                      <td>
                        {trace.connectionName ?? '—'}{' '}
                        <span className="muted small">{trace.protocol.toUpperCase()}</span>
                      </td>
                      <td className="mono small">{trace.errorCode ?? '—'}</td>
                      <td>
                        <Link to={`/admin/o/${org}/traces/${trace.id}`} className="mono small">
                          {trace.id}
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
    </>
  );
}

export function TraceDetailPage({ params }: PageProps) {
  const org = params.org ?? '';
  const trace = useApi<Trace>(`/api/v1/organizations/${enc(org)}/login-traces/${enc(params.id ?? '')}`);
  return (
    <Loader state={trace} label="Loading trace…">
      {(t) => (
        <>
          <PageHeader
            title="Login trace"
            subtitle={
              <>
                <span className="mono">{t.id}</span> · <StatusBadge status={t.status} /> ·{' '}
                {t.protocol.toUpperCase()} · {when(t.createdAt)}
              </>
            }
          />
          <section className="card">
            <dl className="facts">
              <dt>Email</dt>
              <dd>{t.email ?? '—'}</dd>
              <dt>User</dt>
              <dd>
                {t.userId ? (
                  <>
                    <Link to={`/admin/o/${org}/users/${t.userId}`}>{t.email ?? t.userId}</Link>{' '}
                    <span className="mono small muted">{t.userId}</span>
                  </>
                ) : (
                  '—'
                )}
              </dd>
              <dt>Connection</dt>
              <dd>
                {t.connectionId ? (
                  <>
                    <Link to={`/admin/o/${org}/connections/${t.connectionId}`}>
                      {t.connectionName ?? t.connectionId}
                    </Link>{' '}
                    <span className="mono small muted">{t.connectionId}</span>
                  </>
                ) : (
                  '—'
                )}
              </dd>
              <dt>From</dt>
              <dd>{t.ip ?? '—'}</dd>
              {t.errorCode ? (
                <>
                  <dt>Error</dt>
                  <dd className="mono">{t.errorCode}</dd>
                </>
              ) : null}
            </dl>
            {t.reason ? <div className="error">{t.reason}</div> : null}
          </section>
          <section className="card" aria-labelledby="steps-title">
            <h2 id="steps-title">Steps</h2>
            <TraceSteps steps={t.steps} />
          </section>
        </>
      )}
    </Loader>
  );
}

/** Finds a trace by the id a person read off an error page, in any organization. */
function TraceSearch() {
  const [id, setId] = useState('');
  const find = useAction(async (traceId: string) =>
    api<Trace>('GET', `/api/v1/login-traces/${enc(traceId)}`),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const trace = await find.run(id.trim());
    if (trace) {
      const org = await api<{ slug: string }>('GET', `/api/v1/organizations/${enc(trace.organizationId)}`);
      navigate(`/admin/o/${org.slug}/traces/${trace.id}`);
    }
  };
  return (
    <form className="toolbar" onSubmit={submit}>
      <label htmlFor="trace-id">Trace id</label>
      <input
        id="trace-id"
        className="mono"
        placeholder="trc_…"
        value={id}
        onChange={(e) => setId(e.target.value)}
        required
      />
      <Button type="submit" className="secondary" busy={find.busy} busyLabel="Looking up…">
        Open trace
      </Button>
      <ErrorBox error={find.error} />
    </form>
  );
}

export function TraceLookupPage(_props: PageProps) {
  return (
    <>
      <PageHeader
        title="Find a login trace"
        subtitle="Paste the reference a person read off a sign-in error page (it starts with trc_)."
      />
      <section className="card">
        <TraceSearch />
      </section>
    </>
  );
}
