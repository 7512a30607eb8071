/** The audit log: who changed what, when, from where; filters, paging and CSV export. */
import { type FormEvent, useState } from 'react';
import { api, useAction, useApi } from '../api.ts';
import type { PageProps } from '../app.tsx';
import { Button, Empty, ErrorBox, Field, Loader, PageHeader, when } from '../components/ui.tsx';

interface AuditEntry {
  id: string;
  cursor: string;
  occurredAt: string;
  organizationId: string | null;
  organizationName: string | null;
  type: string;
  actor: { type: string; id?: string; name?: string; ip?: string; requestId?: string };
  resource: { type: string | null; id: string | null; name: string | null };
  changes: Record<string, { from: unknown; to: unknown }> | null;
  data: Record<string, unknown>;
}

interface Filters {
  organization: string;
  actorType: string;
  types: string;
  since: string;
  until: string;
}

const EMPTY: Filters = { organization: '', actorType: '', types: '', since: '', until: '' };

function queryOf(filters: Filters): URLSearchParams {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) query.set(key, value);
  return query;
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function AuditPage({ params }: PageProps) {
  const initial = { ...EMPTY, organization: params.org ?? '' };
  const [draft, setDraft] = useState<Filters>(initial);
  const [filters, setFilters] = useState<Filters>(initial);
  const first = useApi<{ data: AuditEntry[]; nextCursor: string | null }>(
    `/api/v1/audit?limit=50&${queryOf(filters)}`,
  );
  const [more, setMore] = useState<{ entries: AuditEntry[]; cursor: string | null } | undefined>();
  const loadMore = useAction(async (after: string) => {
    const page = await api<{ data: AuditEntry[]; nextCursor: string | null }>(
      'GET',
      `/api/v1/audit?limit=50&after=${encodeURIComponent(after)}&${queryOf(filters)}`,
    );
    setMore((previous) => ({
      entries: [...(previous?.entries ?? []), ...page.data],
      cursor: page.nextCursor,
    }));
    return page;
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setMore(undefined);
    setFilters(draft);
  };
  const set = (key: keyof Filters) => (value: string) => setDraft({ ...draft, [key]: value });
  return (
    <>
      <PageHeader
        title="Audit log"
        subtitle="Every change through the console, the API, the CLI, setup links, SCIM and logins. Newest first; no secrets."
        actions={
          <a className="button secondary" href={`/api/v1/audit.csv?${queryOf(filters)}`} download>
            Export CSV
          </a>
        }
      />
      <form className="card form" onSubmit={submit} aria-label="Filter the audit log">
        <div className="grid2">
          <Field label="Organization" htmlFor="a-org" hint="Id or slug.">
            <input
              id="a-org"
              value={draft.organization}
              onChange={(e) => set('organization')(e.target.value)}
            />
          </Field>
          <Field label="Actor" htmlFor="a-actor">
            <select id="a-actor" value={draft.actorType} onChange={(e) => set('actorType')(e.target.value)}>
              <option value="">Anyone</option>
              <option value="console">A person in the console</option>
              <option value="api_key">An API key</option>
              <option value="cli">The command line</option>
              <option value="setup_link">A setup link</option>
              <option value="scim">A SCIM client</option>
              <option value="sso">A login</option>
              <option value="system">The hub itself</option>
            </select>
          </Field>
          <Field label="Event types" htmlFor="a-types" hint="Comma-separated; connection.* matches a prefix.">
            <input
              id="a-types"
              value={draft.types}
              onChange={(e) => set('types')(e.target.value)}
              placeholder="connection.*, user.suspended"
            />
          </Field>
          <Field label="Since" htmlFor="a-since">
            <input
              id="a-since"
              type="date"
              value={draft.since}
              onChange={(e) => set('since')(e.target.value)}
            />
          </Field>
          <Field label="Until (exclusive)" htmlFor="a-until">
            <input
              id="a-until"
              type="date"
              value={draft.until}
              onChange={(e) => set('until')(e.target.value)}
            />
          </Field>
        </div>
        <div className="actions">
          <button type="submit" className="primary">
            Apply filters
          </button>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setDraft(EMPTY);
              setFilters(EMPTY);
              setMore(undefined);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <Loader state={first} label="Reading the audit log…">
        {(page) => {
          const entries = [...page.data, ...(more?.entries ?? [])];
          const cursor = more ? more.cursor : page.nextCursor;
          return entries.length === 0 ? (
            <Empty title="No entries match these filters.">Widen the time range or clear the filters.</Empty>
          ) : (
            <>
              <div className="table-wrap">
                <table className="audit">
                  <thead>
                    <tr>
                      <th>When</th>
                      <th>Who</th>
                      <th>What</th>
                      <th>Resource</th>
                      <th>Changes</th>
                    </tr>
                  </thead>
                  <tbody>
                    {entries.map((entry) => (
                      <tr key={entry.id}>
                        <td>{when(entry.occurredAt)}</td>
                        <td>
                          <div>{entry.actor.name ?? entry.actor.id ?? entry.actor.type}</div>
                          <div className="muted small">
                            {entry.actor.type}
                            {entry.actor.ip ? ` · ${entry.actor.ip}` : ''}
                          </div>
                        </td>
                        <td className="mono small">{entry.type}</td>
                        <td>
                          <AuditResource entry={entry} showOrganization={!params.org} />
                        </td>
                        <td>
                          {entry.changes && Object.keys(entry.changes).length ? (
                            <ul className="changes">
                              {Object.entries(entry.changes).map(([field, change]) => (
                                <li key={field}>
                                  <span className="mono small">{field}</span>: {show(change.from)} →{' '}
                                  {show(change.to)}
                                </li>
                              ))}
                            </ul>
                          ) : (
                            <details>
                              <summary>Details</summary>
                              <pre className="mono small">{JSON.stringify(entry.data, null, 2)}</pre>
                            </details>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <ErrorBox error={loadMore.error} />
              {cursor ? (
                <div className="actions">
                  <Button
                    className="secondary"
                    busy={loadMore.busy}
                    busyLabel="Loading…"
                    onClick={() => loadMore.run(cursor)}
                  >
                    Older entries
                  </Button>
                </div>
              ) : null}
            </>
          );
        }}
      </Loader>
    </>
  );
}

/** What an entry is about: its name where the event recorded one, the id small beside it. */
function AuditResource({ entry, showOrganization }: { entry: AuditEntry; showOrganization: boolean }) {
  const { type, id, name } = entry.resource;
  return (
    <>
      {type ? (
        <div>
          <span className="muted small">{type.replaceAll('_', ' ')}</span> {name ?? null}
        </div>
      ) : (
        '—'
      )}
      {id ? <div className="mono small muted">{id}</div> : null}
      {showOrganization && entry.organizationId ? (
        <div className="small">
          in {entry.organizationName ?? <span className="mono">{entry.organizationId}</span>}
        </div>
      ) : null}
    </>
  );
}
