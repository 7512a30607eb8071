/**
 * Directories: SCIM ones (create, the SCIM URL, the token shown once, rotation and revocation),
 * and beside them the HR connectors and directory pulls (./hr-connectors/).
 */
import { zodResolver } from '@hookform/resolvers/zod';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { z } from 'zod/mini';
import { client, unwrap } from '../api/client.ts';
import { apiQuery, invalidate, useApiMutation } from '../api/queries.ts';
import { can } from '../api/session.ts';
import type { Schemas } from '../api/types.ts';
import type { PageProps } from '../app.tsx';
import {
  Button,
  CopyField,
  Empty,
  ErrorBox,
  Field,
  Loader,
  PageHeader,
  StatusBadge,
  when,
} from '../components/ui.tsx';
import { Link } from '../router.tsx';
import { HrConnectorsSection } from './hr-connectors/section.tsx';

const PROVIDERS = { entra: 'Microsoft Entra ID', okta: 'Okta', generic: 'Other SCIM 2.0 client' } as const;

const providerName = (provider: string) => PROVIDERS[provider as keyof typeof PROVIDERS] ?? provider;

const directoryForm = z.object({ name: z.string(), provider: z.enum(['entra', 'okta', 'generic']) });
const rotateForm = z.object({ overlap: z.enum(['0', '3600', '86400', '604800']) });

/** A new bearer token: shown once, with a clear warning. */
function TokenOnce({ token }: { token: string }) {
  return (
    <div className="secret-once" role="alert">
      <strong>Copy this token now: it is shown only once.</strong>
      <CopyField label="SCIM bearer token" value={token} secret />
      <div className="muted small">
        Switchboard keeps only its hash. If it is lost, rotate to get a new one.
      </div>
    </div>
  );
}

export function DirectoriesPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const queryClient = useQueryClient();
  const list = useQuery(apiQuery('/api/v1/organizations/{org}/directories', { params: { path: { org } } }));
  const form = useForm<z.infer<typeof directoryForm>>({
    resolver: zodResolver(directoryForm),
    defaultValues: { name: '', provider: 'entra' },
  });
  const provider = form.watch('provider');
  const [created, setCreated] = useState<Schemas['DirectoryWithToken'] | undefined>();
  const create = useApiMutation(
    (body: Schemas['CreateDirectoryInput']) =>
      unwrap(client.POST('/api/v1/organizations/{org}/directories', { params: { path: { org } }, body })),
    {
      onSuccess: (result) => {
        setCreated(result);
        form.resetField('name');
        return invalidate(queryClient, '/api/v1/organizations/{org}/directories');
      },
    },
  );
  const submit = form.handleSubmit(({ name, provider }) =>
    create.mutate({ name: name || `${PROVIDERS[provider]} SCIM`, provider }),
  );
  return (
    <>
      <PageHeader
        title="Directories"
        subtitle="Where this organization's users come from: SCIM provisioning from their IdP, and their HR system."
      />
      {created ? (
        <section className="card" aria-labelledby="created-title">
          <h2 id="created-title">{created.directory.name} is ready</h2>
          <p>
            Enter these in the IdP's provisioning settings (Tenant URL / SCIM connector base URL, and Secret
            token).
          </p>
          <div className="grid2">
            <CopyField
              label="SCIM base URL"
              value={created.directory.scim?.entraTenantUrl ?? created.directory.scim?.baseUrl ?? ''}
            />
          </div>
          <TokenOnce token={created.token} />
          <div className="actions">
            <Link className="button secondary" to={`/admin/o/${org}/directories/${created.directory.id}`}>
              Open directory
            </Link>
            <button type="button" className="secondary" onClick={() => setCreated(undefined)}>
              I have stored the token
            </button>
          </div>
        </section>
      ) : null}
      {can(session, 'admin') && !created ? (
        <form className="card form" onSubmit={submit} aria-label="New SCIM directory">
          <h2>New SCIM directory</h2>
          <div className="grid2">
            <Field label="IdP" htmlFor="d-provider" hint="Its SCIM quirks are handled for you.">
              <select id="d-provider" {...form.register('provider')}>
                {Object.entries(PROVIDERS).map(([key, label]) => (
                  <option key={key} value={key}>
                    {label}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Name" htmlFor="d-name">
              <input id="d-name" {...form.register('name')} placeholder={`${PROVIDERS[provider]} SCIM`} />
            </Field>
          </div>
          <ErrorBox error={create.error} />
          <div className="actions">
            <Button type="submit" className="primary" busy={create.isPending} busyLabel="Creating…">
              Create SCIM directory
            </Button>
          </div>
        </form>
      ) : null}
      <section className="card" aria-labelledby="scim-list-title">
        <h2 id="scim-list-title">SCIM directories</h2>
        <Loader state={list} label="Loading directories…">
          {(page) => {
            const scim = page.data.filter((d) => d.kind === 'scim');
            return scim.length === 0 ? (
              <Empty title="No directory yet.">
                Create a SCIM directory so the client's IdP provisions users.
              </Empty>
            ) : (
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th>Name</th>
                      <th>IdP</th>
                      <th>Status</th>
                      <th>Last activity</th>
                    </tr>
                  </thead>
                  <tbody>
                    {scim.map((d) => (
                      <tr key={d.id}>
                        <td>
                          <Link to={`/admin/o/${org}/directories/${d.id}`}>{d.name}</Link>
                        </td>
                        <td>{providerName(d.provider)}</td>
                        <td>
                          <StatusBadge status={d.status} />
                        </td>
                        <td>{when(d.lastActivityAt)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            );
          }}
        </Loader>
      </section>
      <HrConnectorsSection session={session} org={org} />
    </>
  );
}

export function DirectoryDetailPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const queryClient = useQueryClient();
  const path = { org, id: params.id ?? '' };
  const directory = useQuery(apiQuery('/api/v1/organizations/{org}/directories/{id}', { params: { path } }));
  const reload = () => invalidate(queryClient, '/api/v1/organizations/{org}/directories/{id}');
  const [token, setToken] = useState<string | undefined>();
  const form = useForm<z.infer<typeof rotateForm>>({
    resolver: zodResolver(rotateForm),
    defaultValues: { overlap: '86400' },
  });
  const rotate = useApiMutation(
    (overlapSeconds: number) =>
      unwrap(
        client.POST('/api/v1/organizations/{org}/directories/{id}/tokens', {
          params: { path },
          body: { overlapSeconds },
        }),
      ),
    {
      onSuccess: (result) => {
        setToken(result.token);
        return reload();
      },
    },
  );
  const revoke = useApiMutation(
    (tokenId: string) =>
      unwrap(
        client.DELETE('/api/v1/organizations/{org}/directories/{id}/tokens/{tokenId}', {
          params: { path: { ...path, tokenId } },
        }),
      ),
    { onSuccess: reload },
  );
  return (
    <Loader state={directory} label="Loading directory…">
      {(d) => (
        <>
          <PageHeader
            title={d.name}
            subtitle={
              <>
                SCIM · {providerName(d.provider)} · <StatusBadge status={d.status} /> · last activity{' '}
                {when(d.lastActivityAt)}
              </>
            }
          />
          <section className="card" aria-labelledby="scim-title">
            <h2 id="scim-title">For the IdP</h2>
            <div className="grid2">
              <CopyField label="SCIM base URL" value={d.scim?.baseUrl ?? ''} />
              {d.scim?.entraTenantUrl ? (
                <CopyField label="Entra tenant URL" value={d.scim.entraTenantUrl} />
              ) : null}
            </div>
            {token ? <TokenOnce token={token} /> : null}
          </section>
          <section className="card" aria-labelledby="tokens-title">
            <h2 id="tokens-title">Tokens</h2>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Token</th>
                    <th>Status</th>
                    <th>Expires</th>
                    <th>Last used</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {d.tokens.map((t) => (
                    <tr key={t.id}>
                      <td className="mono">{t.prefix}…</td>
                      <td>
                        <StatusBadge status={t.status} />
                      </td>
                      <td>{when(t.expiresAt)}</td>
                      <td>{when(t.lastUsedAt)}</td>
                      <td>
                        {can(session, 'admin') && t.status !== 'revoked' && t.status !== 'expired' ? (
                          <Button
                            className="danger small"
                            busy={revoke.isPending}
                            onClick={() => {
                              if (
                                !window.confirm('Revoke this token? The IdP using it stops syncing at once.')
                              )
                                return;
                              revoke.mutate(t.id);
                            }}
                          >
                            Revoke
                          </Button>
                        ) : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <ErrorBox error={rotate.error ?? revoke.error} />
            {can(session, 'admin') ? (
              <form
                className="toolbar"
                onSubmit={form.handleSubmit(({ overlap }) => rotate.mutate(Number(overlap)))}
              >
                <label htmlFor="overlap">Old tokens keep working for</label>
                <select id="overlap" {...form.register('overlap')}>
                  <option value="0">no time (stop now)</option>
                  <option value="3600">1 hour</option>
                  <option value="86400">1 day</option>
                  <option value="604800">7 days</option>
                </select>
                <Button type="submit" className="primary" busy={rotate.isPending} busyLabel="Rotating…">
                  Rotate token
                </Button>
              </form>
            ) : null}
          </section>
        </>
      )}
    </Loader>
  );
}
