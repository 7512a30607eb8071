/**
 * Directories: SCIM ones (create, the SCIM URL, the token shown once, rotation and revocation),
 * and beside them the HR connectors and directory pulls (./hr-connectors.tsx).
 */
import { type FormEvent, useState } from 'react';
import { api, can, enc, useAction, useApi } from '../api.ts';
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
import { HrConnectorsSection } from './hr-connectors.tsx';

interface DirectoryToken {
  id: string;
  prefix: string;
  status: 'active' | 'expiring' | 'expired' | 'revoked';
  expiresAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

interface Directory {
  id: string;
  /** `hris` and `directory` (pulls) are listed by the HR connectors section, not here. */
  kind: 'scim' | 'hris' | 'directory';
  name: string;
  provider: 'entra' | 'okta' | 'generic';
  status: 'active' | 'disabled';
  scim: { baseUrl: string; entraTenantUrl?: string };
  tokens: DirectoryToken[];
  lastActivityAt: string | null;
  createdAt: string;
}

const PROVIDERS = { entra: 'Microsoft Entra ID', okta: 'Okta', generic: 'Other SCIM 2.0 client' } as const;

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
  const list = useApi<{ data: Directory[] }>(`/api/v1/organizations/${enc(org)}/directories`);
  const [name, setName] = useState('');
  const [provider, setProvider] = useState<keyof typeof PROVIDERS>('entra');
  const [created, setCreated] = useState<{ directory: Directory; token: string } | undefined>();
  const create = useAction(async () =>
    api<{ directory: Directory; token: string }>('POST', `/api/v1/organizations/${enc(org)}/directories`, {
      name: name || `${PROVIDERS[provider]} SCIM`,
      provider,
    }),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await create.run();
    if (result) {
      setCreated(result);
      setName('');
      list.reload();
    }
  };
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
              value={created.directory.scim.entraTenantUrl ?? created.directory.scim.baseUrl}
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
              <select
                id="d-provider"
                value={provider}
                onChange={(e) => setProvider(e.target.value as keyof typeof PROVIDERS)}
              >
                {Object.entries(PROVIDERS).map(([key, label]) => (
                  <option key={key} value={key}>
                    {label}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Name" htmlFor="d-name">
              <input
                id="d-name"
                value={name}
                onChange={(e) => setName(e.target.value)}
                placeholder={`${PROVIDERS[provider]} SCIM`}
              />
            </Field>
          </div>
          <ErrorBox error={create.error} />
          <div className="actions">
            <Button type="submit" className="primary" busy={create.busy} busyLabel="Creating…">
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
                        <td>{PROVIDERS[d.provider]}</td>
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
  const base = `/api/v1/organizations/${enc(org)}/directories/${enc(params.id ?? '')}`;
  const directory = useApi<Directory>(base);
  const [token, setToken] = useState<string | undefined>();
  const [overlap, setOverlap] = useState('86400');
  const rotate = useAction(async () =>
    api<{ token: string }>('POST', `${base}/tokens`, { overlapSeconds: Number(overlap) }),
  );
  const revoke = useAction(async (tokenId: string) => api('DELETE', `${base}/tokens/${enc(tokenId)}`));
  return (
    <Loader state={directory} label="Loading directory…">
      {(d) => (
        <>
          <PageHeader
            title={d.name}
            subtitle={
              <>
                SCIM · {PROVIDERS[d.provider]} · <StatusBadge status={d.status} /> · last activity{' '}
                {when(d.lastActivityAt)}
              </>
            }
          />
          <section className="card" aria-labelledby="scim-title">
            <h2 id="scim-title">For the IdP</h2>
            <div className="grid2">
              <CopyField label="SCIM base URL" value={d.scim.baseUrl} />
              {d.scim.entraTenantUrl ? (
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
                            busy={revoke.busy}
                            onClick={async () => {
                              if (
                                !window.confirm('Revoke this token? The IdP using it stops syncing at once.')
                              )
                                return;
                              if ((await revoke.run(t.id)) !== undefined) directory.reload();
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
                onSubmit={async (event) => {
                  event.preventDefault();
                  const result = await rotate.run();
                  if (result) {
                    setToken(result.token);
                    directory.reload();
                  }
                }}
              >
                <label htmlFor="overlap">Old tokens keep working for</label>
                <select id="overlap" value={overlap} onChange={(e) => setOverlap(e.target.value)}>
                  <option value="0">no time (stop now)</option>
                  <option value="3600">1 hour</option>
                  <option value="86400">1 day</option>
                  <option value="604800">7 days</option>
                </select>
                <Button type="submit" className="primary" busy={rotate.busy} busyLabel="Rotating…">
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
