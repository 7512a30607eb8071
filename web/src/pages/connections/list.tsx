/** SSO connections of one organization. */
import { useQuery } from '@tanstack/react-query';
import { apiQuery } from '../../api/queries.ts';
import { can } from '../../api/session.ts';
import type { PageProps } from '../../app.tsx';
import { Badge, Empty, Loader, PageHeader, StatusBadge } from '../../components/ui.tsx';
import { Link } from '../../router.tsx';
import { PRESETS } from './presets.ts';

export function ConnectionsPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const list = useQuery(apiQuery('/api/v1/organizations/{org}/connections', { params: { path: { org } } }));
  return (
    <>
      <PageHeader
        title="SSO connections"
        subtitle="How this organization's people sign in: their identity provider, over OIDC or SAML."
        actions={
          can(session, 'admin') ? (
            <Link className="button primary" to={`/admin/o/${org}/connections/new`}>
              New connection
            </Link>
          ) : null
        }
      />
      <Loader state={list} label="Loading connections…">
        {(page) =>
          page.data.length === 0 ? (
            <Empty title="No SSO connection yet.">
              Create one from the client's IdP preset; a sandbox organization can use the built-in test IdP.
            </Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Protocol</th>
                    <th>Preset</th>
                    <th>State</th>
                    <th>Warnings</th>
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((c) => (
                    <tr key={c.id}>
                      <td>
                        <Link to={`/admin/o/${org}/connections/${c.id}`}>{c.name}</Link>
                        {c.testIdp ? <Badge tone="neutral">test IdP</Badge> : null}
                      </td>
                      <td>{c.protocol.toUpperCase()}</td>
                      <td>{PRESETS[c.preset]?.label ?? c.preset}</td>
                      <td>
                        <StatusBadge status={c.active ? 'active' : 'inactive'} />
                      </td>
                      <td>
                        {c.warnings.length ? <Badge tone="warn">{c.warnings.length} warning(s)</Badge> : '—'}
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
