/** The audit log: who changed what, when, from where; filters, paging and CSV export. */
import { zodResolver } from '@hookform/resolvers/zod';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { z } from 'zod/mini';
import { getApi } from '../api/queries.ts';
import type { Schemas } from '../api/types.ts';
import type { PageProps } from '../app.tsx';
import { Button, Empty, ErrorBox, Field, Loader, PageHeader, when } from '../components/ui.tsx';

type AuditEntry = Schemas['AuditEntry'];

const filtersForm = z.object({
  organization: z.string(),
  actorType: z.string(),
  types: z.string(),
  since: z.string(),
  until: z.string(),
});
type Filters = z.infer<typeof filtersForm>;

const EMPTY: Filters = { organization: '', actorType: '', types: '', since: '', until: '' };

/** The filters that are set, as the API's query (and the CSV export's). */
function queryOf(filters: Filters): Partial<Filters> {
  return Object.fromEntries(Object.entries(filters).filter(([, value]) => value));
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function AuditPage({ params }: PageProps) {
  const [initial] = useState<Filters>(() => ({ ...EMPTY, organization: params.org ?? '' }));
  const form = useForm<Filters>({ resolver: zodResolver(filtersForm), defaultValues: initial });
  const [filters, setFilters] = useState<Filters>(initial);
  // Newest first; "Older entries" reads the next page after the last cursor.
  const audit = useInfiniteQuery({
    queryKey: ['/api/v1/audit', filters],
    queryFn: ({ pageParam, signal }) =>
      getApi(
        '/api/v1/audit',
        { params: { query: { limit: 50, ...queryOf(filters), ...(pageParam ? { after: pageParam } : {}) } } },
        signal,
      ),
    initialPageParam: '',
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });
  const submit = form.handleSubmit((values) => setFilters(values));
  const csv = new URLSearchParams(queryOf(filters));
  return (
    <>
      <PageHeader
        title="Audit log"
        subtitle="Every change through the console, the API, the CLI, setup links, SCIM and logins. Newest first; no secrets."
        actions={
          <a className="button secondary" href={`/api/v1/audit.csv?${csv}`} download>
            Export CSV
          </a>
        }
      />
      <form className="card form" onSubmit={submit} aria-label="Filter the audit log">
        <div className="grid2">
          <Field label="Organization" htmlFor="a-org" hint="Id or slug.">
            <input id="a-org" {...form.register('organization')} />
          </Field>
          <Field label="Actor" htmlFor="a-actor">
            <select id="a-actor" {...form.register('actorType')}>
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
            <input id="a-types" {...form.register('types')} placeholder="connection.*, user.suspended" />
          </Field>
          <Field label="Since" htmlFor="a-since">
            <input id="a-since" type="date" {...form.register('since')} />
          </Field>
          <Field label="Until (exclusive)" htmlFor="a-until">
            <input id="a-until" type="date" {...form.register('until')} />
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
              form.reset(EMPTY);
              setFilters(EMPTY);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <Loader
        // A failed "Older entries" keeps the entries read so far on screen, its error below them.
        state={{ ...audit, error: audit.isFetchNextPageError ? null : audit.error }}
        label="Reading the audit log…"
      >
        {(pages) => {
          const entries = pages.pages.flatMap((page) => page.data);
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
              <ErrorBox error={audit.isFetchNextPageError ? audit.error : null} />
              {audit.hasNextPage ? (
                <div className="actions">
                  <Button
                    className="secondary"
                    busy={audit.isFetchingNextPage}
                    busyLabel="Loading…"
                    onClick={() => void audit.fetchNextPage()}
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
