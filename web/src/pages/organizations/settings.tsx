/** One organization's page: its facts, domains and their verification, policies and instances. */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { apiQuery, invalidate } from '../../api/queries.ts';
import { can } from '../../api/session.ts';
import type { Schemas } from '../../api/types.ts';
import type { PageProps } from '../../app.tsx';
import { Loader, PageHeader, StatusBadge, when } from '../../components/ui.tsx';
import { Link } from '../../router.tsx';
import { Domains } from './domains.tsx';
import { Policies } from './policies.tsx';

export function OrganizationPage({ session, params }: PageProps) {
  const queryClient = useQueryClient();
  const org = useQuery(
    apiQuery('/api/v1/organizations/{org}', { params: { path: { org: params.org ?? '' } } }),
  );
  const reload = () => void invalidate(queryClient, '/api/v1/organizations/{org}');
  return (
    <Loader state={org} label="Loading organization…">
      {(data) => <OrganizationSettings org={data} reload={reload} canEdit={can(session, 'admin')} />}
    </Loader>
  );
}

function OrganizationSettings({
  org,
  reload,
  canEdit,
}: {
  org: Schemas['Organization'];
  reload: () => void;
  canEdit: boolean;
}) {
  return (
    <>
      <PageHeader
        title={org.name}
        subtitle={
          <>
            <span className="mono">{org.slug}</span> · <StatusBadge status={org.environment} /> · region{' '}
            {org.region} · <StatusBadge status={org.status} /> · created {when(org.createdAt)}
          </>
        }
      />
      <div className="quick-links">
        <Link to={`/admin/o/${org.slug}`}>Overview →</Link>
        <Link to={`/admin/o/${org.slug}/connections`}>SSO connections →</Link>
        <Link to={`/admin/o/${org.slug}/directories`}>Directories →</Link>
        <Link to={`/admin/o/${org.slug}/users`}>Users →</Link>
        <Link to={`/admin/o/${org.slug}/traces`}>Login traces →</Link>
      </div>
      <Domains org={org} reload={reload} canEdit={canEdit} />
      <Policies org={org} reload={reload} canEdit={canEdit} />
    </>
  );
}
