/**
 * Imports: upload a roster (CSV or .xlsx) for a preview, read the column mapping and every row's
 * outcome (rejected rows with their reasons), apply it with live progress, download the report.
 */
import { type FormEvent, useEffect, useState } from 'react';
import { api, can, enc, useAction, useApi } from '../api.ts';
import type { PageProps } from '../app.tsx';
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
  when,
} from '../components/ui.tsx';
import { Link, navigate } from '../router.tsx';
import { Pager } from './provisioning.tsx';

interface Import {
  id: string;
  status: 'uploading' | 'queued' | 'previewing' | 'previewed' | 'applying' | 'applied' | 'failed';
  mode: 'preview' | 'apply';
  filename: string;
  format: 'csv' | 'xlsx';
  byteSize: number;
  headers: string[];
  mapping: Array<{ column: number; header: string; target: string; origin: string }>;
  progress: { phase: string | null; rowsDone: number; totalRows: number | null };
  counts: Record<string, number>;
  previewCounts: Record<string, number> | null;
  options: Record<string, unknown>;
  error: { code: string; detail: string; field?: string; fix?: string } | null;
  createdAt: string;
  finishedAt: string | null;
}

interface ImportRow {
  seq: number;
  rowNumber: number | null;
  outcome: 'created' | 'updated' | 'unchanged' | 'deactivated' | 'rejected';
  email: string | null;
  userId: string | null;
  reasons: Array<{ code: string; message: string; field?: string }>;
  warnings: Array<{ code: string; message: string; field?: string }>;
  changes: string[];
}

const RUNNING = new Set(['uploading', 'queued', 'previewing', 'applying']);
const OUTCOMES = ['', 'created', 'updated', 'unchanged', 'deactivated', 'rejected'] as const;

function countsText(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .filter(([, value]) => value > 0)
    .map(([key, value]) => `${value} ${key}`);
  return parts.join(', ') || 'no rows';
}

export function ImportsPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const base = `/api/v1/organizations/${enc(org)}/imports`;
  const list = useApi<{ data: Import[] }>(`${base}?limit=50`);
  const [file, setFile] = useState<File | undefined>();
  const [fullRoster, setFullRoster] = useState(false);
  const [group, setGroup] = useState('');
  const [createGroups, setCreateGroups] = useState(false);
  const upload = useAction(async () => {
    if (!file) throw new Error('Choose a CSV or .xlsx file first.');
    const form = new FormData();
    form.append('dryRun', 'true');
    form.append('fullRoster', String(fullRoster));
    if (group.trim()) form.append('group', group.trim());
    form.append('createGroups', String(createGroups));
    form.append('file', file, file.name);
    return api<Import>('POST', base, form);
  });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const created = await upload.run();
    if (created) navigate(`/admin/o/${org}/imports/${created.id}`);
  };
  return (
    <>
      <PageHeader title="Imports" subtitle="Bring people in from a spreadsheet: preview first, then apply." />
      {can(session, 'admin') ? (
        <form className="card form" onSubmit={submit} aria-label="New import">
          <h2>Upload a roster</h2>
          <div className="grid2">
            <Field
              label="Roster file"
              htmlFor="import-file"
              hint="CSV or .xlsx with a header row; columns are recognised by name (English or Spanish)."
            >
              <input
                id="import-file"
                type="file"
                accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                onChange={(e) => setFile(e.target.files?.[0])}
              />
            </Field>
            <Field label="Add everyone to group" htmlFor="import-group" hint="Optional.">
              <input id="import-group" value={group} onChange={(e) => setGroup(e.target.value)} />
            </Field>
          </div>
          <div className="field checkbox">
            <label>
              <input
                type="checkbox"
                checked={createGroups}
                onChange={(e) => setCreateGroups(e.target.checked)}
              />{' '}
              Create missing groups
            </label>
          </div>
          <div className="field checkbox">
            <label>
              <input type="checkbox" checked={fullRoster} onChange={(e) => setFullRoster(e.target.checked)} />{' '}
              This file lists everyone (people missing from it are deactivated)
            </label>
          </div>
          <ErrorBox error={upload.error} />
          <div className="actions">
            <Button type="submit" className="primary" busy={upload.busy} busyLabel="Uploading…">
              Upload and preview
            </Button>
          </div>
        </form>
      ) : null}
      <Loader state={list} label="Loading imports…">
        {(page) =>
          page.data.length === 0 ? (
            <Empty title="No import yet.">Upload a roster to see a preview before anything changes.</Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>File</th>
                    <th>Status</th>
                    <th>Rows</th>
                    <th>Uploaded</th>
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((row) => (
                    <tr key={row.id}>
                      <td>
                        <Link to={`/admin/o/${org}/imports/${row.id}`}>{row.filename}</Link>
                      </td>
                      <td>
                        <StatusBadge status={row.status} />
                      </td>
                      <td>{countsText(row.counts)}</td>
                      <td>{when(row.createdAt)}</td>
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

export function ImportDetailPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const base = `/api/v1/organizations/${enc(org)}/imports/${enc(params.id ?? '')}`;
  const job = useApi<Import>(base);
  const [outcome, setOutcome] = useState<(typeof OUTCOMES)[number]>('');
  const [after, setAfter] = useState('');
  const rows = useApi<{ data: ImportRow[]; nextCursor: string | null }>(
    `${base}/rows?limit=200${outcome ? `&outcome=${outcome}` : ''}${after ? `&after=${enc(after)}` : ''}`,
  );
  const apply = useAction(async () => api<Import>('POST', `${base}/apply`));
  const status = job.data?.status;
  const running = status !== undefined && RUNNING.has(status);
  const reloadJob = job.reload;
  const reloadRows = rows.reload;
  // While the import works, poll it for progress.
  // biome-ignore lint/correctness/useExhaustiveDependencies: job.data changes after every poll, scheduling the next one
  useEffect(() => {
    if (!running) return;
    const timer = setTimeout(reloadJob, 700);
    return () => clearTimeout(timer);
  }, [running, job.data, reloadJob]);
  // Rows change when a phase ends.
  useEffect(() => {
    if (status && !RUNNING.has(status)) reloadRows();
  }, [status, reloadRows]);
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
                      busy={apply.busy}
                      busyLabel="Starting…"
                      onClick={async () => {
                        if (await apply.run()) reloadJob();
                      }}
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
                  busy={apply.busy}
                  busyLabel="Starting…"
                  onClick={async () => {
                    if (await apply.run()) reloadJob();
                  }}
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
