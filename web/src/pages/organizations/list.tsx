/** Organizations: the list, searched by name or slug, and creating one. */
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { apiQuery } from '../../api/queries.ts';
import { can } from '../../api/session.ts';
import type { PageProps } from '../../app.tsx';
import { Empty, Loader, PageHeader, StatusBadge } from '../../components/ui.tsx';
import { Link } from '../../router.tsx';
import { CreateOrganization } from './create.tsx';

export function OrganizationsPage({ session }: PageProps) {
  const search = useForm({ defaultValues: { q: '' } });
  const [query, setQuery] = useState('');
  const list = useQuery(
    apiQuery('/api/v1/organizations', { params: { query: { limit: 200, ...(query ? { q: query } : {}) } } }),
  );
  const [creating, setCreating] = useState(false);
  return (
    <>
      <PageHeader
        title="Organizations"
        subtitle="Client companies: their domains, SSO connections, directories and users."
        actions={
          can(session, 'admin') ? (
            <button type="button" className="primary" onClick={() => setCreating(true)}>
              New organization
            </button>
          ) : null
        }
      />
      {creating ? <CreateOrganization onCancel={() => setCreating(false)} /> : null}
      <form className="toolbar" onSubmit={search.handleSubmit(({ q }) => setQuery(q.trim()))}>
        <label htmlFor="org-search" className="visually-hidden">
          Search organizations
        </label>
        <input id="org-search" placeholder="Search by name or slug" {...search.register('q')} />
        <button type="submit" className="secondary">
          Search
        </button>
      </form>
      <Loader state={list} label="Loading organizations…">
        {(page) =>
          page.data.length === 0 ? (
            <Empty title={query ? `No organization matches “${query}”.` : 'No organizations yet.'}>
              {query ? 'Try part of the name or the slug.' : 'Create the first one with “New organization”.'}
            </Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Slug</th>
                    <th>Environment</th>
                    <th>Region</th>
                    <th>Domains</th>
                    <th>Status</th>
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((org) => (
                    <tr key={org.id}>
                      <td>
                        <Link to={`/admin/o/${org.slug}`}>{org.name}</Link>
                      </td>
                      <td className="mono">{org.slug}</td>
                      <td>
                        <StatusBadge status={org.environment} />
                      </td>
                      <td>{org.region}</td>
                      <td>
                        {org.domains.length === 0
                          ? '—'
                          : org.domains.map((d) => `${d.domain}${d.verified ? ' ✓' : ''}`).join(', ')}
                      </td>
                      <td>
                        <StatusBadge status={org.status} />
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
