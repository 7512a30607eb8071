/**
 * One import: the column mapping, every row's outcome (rejected rows with their reasons), applying
 * it with live progress (polled while it works), and the report to download.
 */
import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { client, unwrap } from '../../api/client.ts';
import { apiQuery, useApiMutation } from '../../api/queries.ts';
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
  Spinner,
  StatusBadge,
  when,
} from '../../components/ui.tsx';
import { Link } from '../../router.tsx';
import { countsText, RUNNING } from './shared.ts';

const OUTCOMES = ['', 'created', 'updated', 'unchanged', 'deactivated', 'rejected'] as const;

export function ImportDetailPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const id = params.id ?? '';
  const path = { org, id };
  const base = `/api/v1/organizations/${encodeURIComponent(org)}/imports/${encodeURIComponent(id)}`;
  // While the import works, poll it for progress.
  const job = useQuery({
    ...apiQuery('/api/v1/organizations/{org}/imports/{id}', { params: { path } }),
    refetchInterval: (query) => (query.state.data && RUNNING.has(query.state.data.status) ? 700 : false),
  });
  const [outcome, setOutcome] = useState<(typeof OUTCOMES)[number]>('');
  const [after, setAfter] = useState('');
  const rows = useQuery(
    apiQuery('/api/v1/organizations/{org}/imports/{id}/rows', {
      params: {
        path,
        query: { limit: 200, ...(outcome ? { outcome } : {}), ...(after ? { after } : {}) },
      },
    }),
  );
  const { refetch: refetchJob } = job;
  const apply = useApiMutation(
    () => unwrap(client.POST('/api/v1/organizations/{org}/imports/{id}/apply', { params: { path } })),
    { onSuccess: () => void refetchJob() },
  );
  const status = job.data?.status;
  const running = status !== undefined && RUNNING.has(status);
  // Rows change when a phase ends (a new status that is not still working: previewed, applied, failed).
  const { refetch: refetchRows } = rows;
  const seenStatus = useRef(status);
  useEffect(() => {
    if (status === seenStatus.current) return;
    const before = seenStatus.current;
    seenStatus.current = status;
    if (before !== undefined && status !== undefined && !RUNNING.has(status)) void refetchRows();
  }, [status, refetchRows]);
  return (
    <Loader state={job} label="Loading import…">
      {(imp) => {
        const total = imp.progress.totalRows;
        return (
          <>
            <PageHeader
              title={imp.filename}
              subtitle={
                <>
                  Import · {imp.format.toUpperCase()} · <StatusBadge status={imp.status} /> · uploaded{' '}
                  {when(imp.createdAt)}
                  {imp.options.fullRoster ? (
                    <>
                      {' '}
                      · <Badge tone="warn">full roster</Badge>
                    </>
                  ) : null}
                </>
              }
              actions={
                <a className="button secondary" href={`${base}/report.csv`} download>
                  Download report
                </a>
              }
            />
            {running ? (
              <section className="card" aria-labelledby="progress-title">
                <h2 id="progress-title">{imp.status === 'applying' ? 'Applying' : 'Reading the file'}</h2>
                <progress
                  aria-label="Import progress"
                  max={total ?? undefined}
                  value={total ? imp.progress.rowsDone : undefined}
                  style={{ width: '100%' }}
                />
                <div className="muted" role="status" aria-live="polite">
                  {imp.progress.phase ?? 'waiting'}: {imp.progress.rowsDone}
                  {total !== null ? ` of ${total}` : ''} rows
                </div>
              </section>
            ) : null}
            {imp.error ? (
              <div className="error" role="alert">
                <strong>{imp.error.detail}</strong>
                {imp.error.field ? (
                  <div>
                    Field: <code>{imp.error.field}</code>
                  </div>
                ) : null}
                {imp.error.fix ? <div className="fix">{imp.error.fix}</div> : null}
                <div className="muted small">{imp.error.code}</div>
              </div>
            ) : null}
            {imp.status === 'previewed' ? (
              <section className="card" aria-labelledby="preview-title">
                <h2 id="preview-title">Preview: {countsText(imp.counts)}</h2>
                <p>Nothing has changed yet. Apply to create and update these people.</p>
                <ErrorBox error={apply.error} />
                {can(session, 'admin') ? (
                  <div className="actions">
                    <Button
                      className="primary"
                      busy={apply.isPending}
                      busyLabel="Starting…"
                      onClick={() => apply.mutate()}
                    >
                      Apply import
                    </Button>
                  </div>
                ) : null}
              </section>
            ) : null}
            {imp.status === 'failed' && imp.mode === 'apply' && can(session, 'admin') ? (
              <div className="actions">
                <ErrorBox error={apply.error} />
                <Button
                  className="primary"
                  busy={apply.isPending}
                  busyLabel="Starting…"
                  onClick={() => apply.mutate()}
                >
                  Retry apply
                </Button>
              </div>
            ) : null}
            {imp.status === 'applied' ? (
              <div className="notice ok-text" role="status">
                Applied {when(imp.finishedAt)}: {countsText(imp.counts)}.
              </div>
            ) : null}
            <section className="card" aria-labelledby="mapping-title">
              <h2 id="mapping-title">Column mapping</h2>
              {imp.mapping.length === 0 ? (
                <Empty title="No columns read yet." />
              ) : (
                <div className="table-wrap">
                  <table>
                    <thead>
                      <tr>
                        <th>Column</th>
                        <th>Becomes</th>
                        <th>Why</th>
                      </tr>
                    </thead>
                    <tbody>
                      {imp.mapping.map((m) => (
                        <tr key={m.column}>
                          <td>{m.header}</td>
                          <td className="mono">{m.target}</td>
                          <td className="muted">{m.origin}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </section>
            <section className="card" aria-labelledby="rows-title">
              <h2 id="rows-title">Rows</h2>
              <div className="toolbar">
                <label htmlFor="row-outcome">Outcome</label>
                <select
                  id="row-outcome"
                  value={outcome}
                  onChange={(e) => {
                    setOutcome(e.target.value as (typeof OUTCOMES)[number]);
                    setAfter('');
                  }}
                >
                  {OUTCOMES.map((value) => (
                    <option key={value} value={value}>
                      {value || 'any'}
                    </option>
                  ))}
                </select>
              </div>
              {running && !rows.data ? <Spinner label="Reading rows…" /> : null}
              <Loader state={rows} label="Loading rows…">
                {(page) =>
                  page.data.length === 0 ? (
                    <Empty title="No rows here." />
                  ) : (
                    <div className="table-wrap">
                      <table>
                        <thead>
                          <tr>
                            <th>Row</th>
                            <th>Email</th>
                            <th>Outcome</th>
                            <th>Reasons and changes</th>
                          </tr>
                        </thead>
                        <tbody>
                          {page.data.map((row) => (
                            <tr key={row.seq}>
                              <td>{row.rowNumber ?? '—'}</td>
                              <td>
                                {row.userId ? (
                                  <Link to={`/admin/o/${org}/users/${row.userId}`}>
                                    {row.email ?? row.userId}
                                  </Link>
                                ) : (
                                  (row.email ?? '—')
                                )}
                              </td>
                              <td>
                                <Badge
                                  tone={
                                    row.outcome === 'rejected'
                                      ? 'bad'
                                      : row.outcome === 'deactivated'
                                        ? 'warn'
                                        : row.outcome === 'unchanged'
                                          ? 'neutral'
                                          : 'ok'
                                  }
                                >
                                  {row.outcome}
                                </Badge>
                              </td>
                              <td>
                                {row.reasons.map((r) => (
                                  <div key={`${r.code}:${r.field ?? ''}`} className="warn-text">
                                    {r.field ? <code>{r.field}</code> : null} {r.message}
                                  </div>
                                ))}
                                {row.warnings.map((r) => (
                                  <div key={`w:${r.code}:${r.field ?? ''}`} className="muted">
                                    {r.message}
                                  </div>
                                ))}
                                {row.changes.length > 0 ? (
                                  <div className="muted small">{row.changes.join('; ')}</div>
                                ) : null}
                              </td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                      <Pager after={after} next={page.nextCursor} onPage={setAfter} />
                    </div>
                  )
                }
              </Loader>
            </section>
          </>
        );
      }}
    </Loader>
  );
}
