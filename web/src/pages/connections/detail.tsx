/**
 * One SSO connection: our values to copy into the IdP, their IdP and its certificates (with
 * warnings before they expire), new metadata, a test login, and the attribute mapping.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { client, unwrap } from '../../api/client.ts';
import { apiQuery, invalidate, useApiMutation } from '../../api/queries.ts';
import { can } from '../../api/session.ts';
import type { PageProps } from '../../app.tsx';
import { Button, CopyField, ErrorBox, Loader, PageHeader, StatusBadge, when } from '../../components/ui.tsx';
import { MappingEditor } from './mapping-editor.tsx';
import { ReplaceMetadata } from './metadata.tsx';
import { type Connection, PRESETS } from './presets.ts';
import { TestLogin } from './test-login.tsx';

export function ConnectionDetailPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const queryClient = useQueryClient();
  const connection = useQuery(
    apiQuery('/api/v1/organizations/{org}/connections/{id}', {
      params: { path: { org, id: params.id ?? '' } },
    }),
  );
  const reload = () => void invalidate(queryClient, '/api/v1/organizations/{org}/connections/{id}');
  return (
    <Loader state={connection} label="Loading connection…">
      {(c) => <ConnectionDetail org={org} connection={c} session={session} reload={reload} />}
    </Loader>
  );
}

function ConnectionDetail({
  org,
  connection: c,
  session,
  reload,
}: {
  org: string;
  connection: Connection;
  session: PageProps['session'];
  reload: () => void;
}) {
  const certificates = c.saml?.idpCertificates ?? [];
  const expiring = certificates.filter((cert) => cert.status !== 'valid');
  const path = { params: { path: { org, id: c.id } } };
  const toggle = useApiMutation(
    () =>
      unwrap(
        c.enabled
          ? client.POST('/api/v1/organizations/{org}/connections/{id}/disable', path)
          : client.POST('/api/v1/organizations/{org}/connections/{id}/enable', path),
      ),
    { onSuccess: reload },
  );
  return (
    <>
      <PageHeader
        title={c.name}
        subtitle={
          <>
            {c.protocol.toUpperCase()} · {PRESETS[c.preset]?.label ?? c.preset} ·{' '}
            <StatusBadge status={c.active ? 'active' : 'inactive'} />
            {c.inactiveReason ? ` · ${c.inactiveReason}` : ''}
          </>
        }
        actions={
          can(session, 'admin') ? (
            <Button className="secondary" busy={toggle.isPending} onClick={() => toggle.mutate()}>
              {c.enabled ? 'Disable' : 'Enable'}
            </Button>
          ) : null
        }
      />
      <ErrorBox error={toggle.error} />
      {c.warnings.map((warning) => (
        <div key={warning.code + warning.message} className="warning" role="alert">
          <strong>Warning:</strong> {warning.message}
        </div>
      ))}
      {expiring.map((cert) => (
        <div
          key={cert.fingerprintSha256}
          className={cert.status === 'expired' ? 'error' : 'warning'}
          role="alert"
        >
          IdP certificate {cert.subject} {cert.status === 'expired' ? 'expired' : 'expires'} on{' '}
          {when(cert.notAfter)}. Ask the client for their new certificate or metadata, then refresh the
          metadata.
        </div>
      ))}
      <section className="card" aria-labelledby="ours-title">
        <h2 id="ours-title">Our values, for the IdP</h2>
        {c.saml ? (
          <div className="grid2">
            <CopyField label="Entity ID (Audience / Identifier)" value={c.saml.spEntityId} />
            <CopyField label="ACS URL (Reply URL)" value={c.saml.acsUrl} />
            <CopyField label="SP metadata URL" value={c.saml.spMetadataUrl} />
            <CopyField label="Login URL (start a login here)" value={c.loginUrl} />
          </div>
        ) : null}
        {c.oidc ? (
          <div className="grid2">
            <CopyField label="Redirect URI" value={c.oidc.redirectUri} />
            <CopyField label="Login URL (start a login here)" value={c.loginUrl} />
          </div>
        ) : null}
      </section>
      {c.saml ? (
        <section className="card" aria-labelledby="idp-title">
          <h2 id="idp-title">Their IdP</h2>
          <dl className="facts">
            <dt>Entity ID</dt>
            <dd className="mono">{c.saml.idpEntityId}</dd>
            <dt>SSO URL</dt>
            <dd className="mono">{c.saml.idpSsoUrl}</dd>
            <dt>Metadata</dt>
            <dd className="mono">{c.saml.metadataUrl ?? 'uploaded XML'}</dd>
          </dl>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Certificate</th>
                  <th>Valid until</th>
                  <th>Status</th>
                </tr>
              </thead>
              <tbody>
                {certificates.map((cert) => (
                  <tr key={cert.fingerprintSha256}>
                    <td className="mono small">{cert.subject}</td>
                    <td>{when(cert.notAfter)}</td>
                    <td>
                      <StatusBadge status={cert.status} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}
      {c.saml && !c.testIdp && can(session, 'admin') ? (
        <ReplaceMetadata org={org} connection={c} onDone={reload} />
      ) : null}
      <TestLogin org={org} connection={c} />
      <MappingEditor org={org} connection={c} canEdit={can(session, 'admin')} onSaved={reload} />
    </>
  );
}
