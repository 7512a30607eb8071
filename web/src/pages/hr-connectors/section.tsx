/**
 * The HR connectors (Personio, BambooHR, Workday, SuccessFactors, Merge) and directory pulls
 * (Google Workspace, Microsoft Graph) of an organization, on its Directories page: the list, a new
 * one from its connector's guided fields, and its connection test once saved.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { apiQuery, invalidate } from '../../api/queries.ts';
import { can, type Session } from '../../api/session.ts';
import { Empty, Loader, StatusBadge, when } from '../../components/ui.tsx';
import { Link } from '../../router.tsx';
import { ConnectionTest } from './connection-test.tsx';
import { NewHrConnectorForm } from './create.tsx';
import { type HrDirectory, hrConnectorPath, intervalLabel, useConnectors } from './shared.ts';

export function HrConnectorsSection({ session, org }: { session: Session; org: string }) {
  const queryClient = useQueryClient();
  const list = useQuery(
    apiQuery('/api/v1/organizations/{org}/hris/directories', { params: { path: { org } } }),
  );
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
            org={org}
            id={created.id}
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
                void invalidate(queryClient, '/api/v1/organizations/{org}/hris/directories');
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
