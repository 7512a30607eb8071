/** Login traces: the list per organization, one trace step by step, and lookup by trace id. */
import { zodResolver } from '@hookform/resolvers/zod';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { z } from 'zod/mini';
import { apiQuery, getApi, useApiMutation } from '../api/queries.ts';
import type { Schemas } from '../api/types.ts';
import type { PageProps } from '../app.tsx';
import { Button, Empty, ErrorBox, Loader, PageHeader, StatusBadge, when } from '../components/ui.tsx';
import { Link, navigate } from '../router.tsx';

export type Trace = Schemas['LoginTrace'];
type TraceStep = Schemas['LoginTraceStep'];

const STATUSES = ['succeeded', 'failed', 'started'] as const;
const filtersForm = z.object({
  status: z.enum(['', ...STATUSES]),
  email: z.string(),
  errorCode: z.string(),
});
type Filters = z.infer<typeof filtersForm>;

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
  const [initial] = useState((): Filters => {
    const search = new URLSearchParams(window.location.search);
    const status = STATUSES.find((value) => value === search.get('status')) ?? '';
    return { status, email: search.get('email') ?? '', errorCode: search.get('errorCode') ?? '' };
  });
  const form = useForm<Filters>({ resolver: zodResolver(filtersForm), defaultValues: initial });
  const [filters, setFilters] = useState(initial);
  const list = useQuery(
    apiQuery('/api/v1/organizations/{org}/login-traces', {
      params: {
        path: { org },
        query: {
          limit: 50,
          ...(filters.status ? { status: filters.status } : {}),
          ...(filters.email ? { email: filters.email } : {}),
          ...(filters.errorCode ? { errorCode: filters.errorCode } : {}),
        },
      },
    }),
  );
  return (
    <>
      <PageHeader title="Login traces" subtitle="Every sign-in, step by step. Newest first." />
      <TraceSearch />
      <form
        className="toolbar"
        onSubmit={form.handleSubmit(({ status, email, errorCode }) =>
          setFilters({ status, email: email.trim(), errorCode: errorCode.trim() }),
        )}
      >
        <label htmlFor="t-status">Status</label>
        <select id="t-status" {...form.register('status')}>
          <option value="">Any</option>
          <option value="succeeded">Succeeded</option>
          <option value="failed">Failed</option>
          <option value="started">Started</option>
        </select>
        <label htmlFor="t-email">Email</label>
        <input id="t-email" type="email" {...form.register('email')} />
        <label htmlFor="t-error">Error code</label>
        <input
          id="t-error"
          className="mono"
          placeholder="signature_invalid"
          {...form.register('errorCode')}
        />
        <button type="submit" className="secondary">
          Filter
        </button>
        <button type="button" className="secondary" onClick={() => void list.refetch()}>
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
  const trace = useQuery(
    apiQuery('/api/v1/organizations/{org}/login-traces/{id}', {
      params: { path: { org, id: params.id ?? '' } },
    }),
  );
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
  const form = useForm({ defaultValues: { id: '' } });
  // A lookup, not a change: the trace, then its organization's slug for the page's address.
  const find = useApiMutation(
    async (traceId: string) => {
      const trace = await getApi('/api/v1/login-traces/{id}', { params: { path: { id: traceId } } });
      const org = await getApi('/api/v1/organizations/{org}', {
        params: { path: { org: trace.organizationId } },
      });
      return { trace, org };
    },
    { onSuccess: ({ trace, org }) => navigate(`/admin/o/${org.slug}/traces/${trace.id}`) },
  );
  return (
    <form className="toolbar" onSubmit={form.handleSubmit(({ id }) => find.mutate(id.trim()))}>
      <label htmlFor="trace-id">Trace id</label>
      <input id="trace-id" className="mono" placeholder="trc_…" {...form.register('id')} required />
      <Button type="submit" className="secondary" busy={find.isPending} busyLabel="Looking up…">
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
