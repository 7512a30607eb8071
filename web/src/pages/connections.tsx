/**
 * SSO connections: list, create from a preset with guided fields (metadata by URL, file or pasted
 * XML, OIDC discovery), our values to copy into the IdP, certificate warnings, the mapping editor with a live
 * preview, and a test login that opens in a new tab and then shows its trace.
 */
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ApiError, api, can, enc, useAction, useApi } from '../api.ts';
import type { PageProps } from '../app.tsx';
import {
  Badge,
  Button,
  CopyField,
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
import type { Organization } from './organizations.tsx';
import { type Trace, TraceSteps } from './traces.tsx';

interface Certificate {
  subject: string;
  fingerprintSha256: string;
  notBefore: string;
  notAfter: string;
  status: 'valid' | 'expiring_soon' | 'expired' | 'not_yet_valid';
}

export interface Connection {
  id: string;
  organizationId: string;
  name: string;
  protocol: 'oidc' | 'saml';
  preset: string;
  enabled: boolean;
  testIdp: boolean;
  active: boolean;
  inactiveReason: string | null;
  warnings: Array<{ code: string; message: string }>;
  loginUrl: string;
  oidc?: {
    discoveryUrl: string | null;
    issuer: string;
    clientId: string;
    redirectUri: string;
    scopes: string[];
  };
  saml?: {
    metadataUrl: string | null;
    idpEntityId: string;
    idpSsoUrl: string;
    idpCertificates: Certificate[];
    spEntityId: string;
    acsUrl: string;
    spMetadataUrl: string;
  };
  mapping: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

/** What each preset needs, in the words of that IdP's admin console. */
const PRESETS: Record<string, { label: string; protocols: Array<'oidc' | 'saml'>; guide: string }> = {
  entra: {
    label: 'Microsoft Entra ID',
    protocols: ['oidc', 'saml'],
    guide:
      'OIDC: App registrations → New registration, redirect URI (Web) = our redirect URI; use the tenant-specific discovery URL https://login.microsoftonline.com/<tenant-id>/v2.0. SAML: Enterprise applications → Create your own → SAML; Identifier = our entity ID, Reply URL = our ACS URL; upload the Federation Metadata XML here.',
  },
  okta: {
    label: 'Okta',
    protocols: ['oidc', 'saml'],
    guide:
      'OIDC: Applications → Create App Integration → OIDC Web Application, sign-in redirect URI = our redirect URI, discovery URL https://<your-okta-domain>. SAML: Single sign-on URL = our ACS URL, Audience URI = our entity ID; attribute statements email, firstName, lastName and a groups statement.',
  },
  ping: {
    label: 'PingFederate / PingOne',
    protocols: ['saml', 'oidc'],
    guide:
      'Ping sends LDAP names (mail, givenName, sn, memberOf): the preset maps them. SAML: import our SP metadata URL; OIDC: the preset also reads userinfo, where Ping often puts mail.',
  },
  google: {
    label: 'Google Workspace',
    protocols: ['saml', 'oidc'],
    guide:
      'SAML: Admin console → Apps → Web and mobile apps → Add custom SAML app; ACS URL and Entity ID from us; map firstName, lastName and group membership to "groups". OIDC: discovery https://accounts.google.com (no groups).',
  },
  adfs: {
    label: 'AD FS',
    protocols: ['saml'],
    guide:
      'Add Relying Party Trust → import our SP metadata URL; claim rules E-Mail-Addresses, Given-Name, Surname, UPN, Token-Groups. Metadata: https://<adfs>/FederationMetadata/2007-06/FederationMetadata.xml.',
  },
  generic: {
    label: 'Other (generic)',
    protocols: ['oidc', 'saml'],
    guide: 'Standard OIDC claims or common SAML attribute names; adjust the mapping afterwards if needed.',
  },
};

export function ConnectionsPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const list = useApi<{ data: Connection[] }>(`/api/v1/organizations/${enc(org)}/connections`);
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

export function NewConnectionPage({ params }: PageProps) {
  const org = params.org ?? '';
  const organization = useApi<Organization>(`/api/v1/organizations/${enc(org)}`);
  const [preset, setPreset] = useState('generic');
  const [protocol, setProtocol] = useState<'oidc' | 'saml'>('saml');
  const [name, setName] = useState('');
  const [testIdp, setTestIdp] = useState(false);
  const [metadataSource, setMetadataSource] = useState<'url' | 'file' | 'paste'>('url');
  const [metadataUrl, setMetadataUrl] = useState('');
  const [metadataXml, setMetadataXml] = useState('');
  const [pastedXml, setPastedXml] = useState('');
  const [fileName, setFileName] = useState('');
  const [discoveryUrl, setDiscoveryUrl] = useState('');
  const [clientId, setClientId] = useState('');
  const [clientSecret, setClientSecret] = useState('');
  const [tenantId, setTenantId] = useState('');
  const info = PRESETS[preset] ?? (PRESETS.generic as (typeof PRESETS)[string]);
  const sandbox = organization.data?.environment === 'sandbox';

  const create = useAction(async () => {
    const body: Record<string, unknown> = {
      name: name || `${info.label} ${protocol.toUpperCase()}`,
      protocol,
      preset,
    };
    if (testIdp) {
      body.testIdp = true;
      body.protocol = 'saml';
    } else if (protocol === 'saml') {
      body.saml =
        metadataSource === 'url'
          ? { metadataUrl }
          : { metadataXml: metadataSource === 'paste' ? pastedXml : metadataXml };
    } else {
      body.oidc = {
        discoveryUrl,
        clientId,
        ...(clientSecret ? { clientSecret } : {}),
        ...(preset === 'entra' && tenantId ? { tenantId } : {}),
      };
    }
    return api<Connection>('POST', `/api/v1/organizations/${enc(org)}/connections`, body);
  });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const created = await create.run();
    if (created) navigate(`/admin/o/${org}/connections/${created.id}`);
  };

  return (
    <>
      <PageHeader
        title="New SSO connection"
        subtitle="Pick the client's identity provider; we guide the rest."
      />
      <form className="card form" onSubmit={submit} aria-label="New SSO connection">
        <div className="grid2">
          <Field label="Identity provider" htmlFor="c-preset">
            <select
              id="c-preset"
              value={preset}
              onChange={(e) => {
                setPreset(e.target.value);
                const protocols = PRESETS[e.target.value]?.protocols ?? ['saml'];
                if (!protocols.includes(protocol)) setProtocol(protocols[0] as 'oidc' | 'saml');
              }}
            >
              {Object.entries(PRESETS).map(([key, value]) => (
                <option key={key} value={key}>
                  {value.label}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Protocol" htmlFor="c-protocol">
            <select
              id="c-protocol"
              value={testIdp ? 'saml' : protocol}
              disabled={testIdp}
              onChange={(e) => setProtocol(e.target.value as 'oidc' | 'saml')}
            >
              {info.protocols.map((p) => (
                <option key={p} value={p}>
                  {p.toUpperCase()}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Name" htmlFor="c-name" hint="Shown in the connection picker and in traces.">
            <input
              id="c-name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder={`${info.label} ${protocol.toUpperCase()}`}
            />
          </Field>
          {sandbox ? (
            <div className="field checkbox">
              <input
                id="c-test"
                type="checkbox"
                checked={testIdp}
                onChange={(e) => setTestIdp(e.target.checked)}
              />
              <label htmlFor="c-test">Use the built-in test IdP (sandbox only)</label>
            </div>
          ) : null}
        </div>
        <div className="guide">
          <strong>Setting up {info.label}</strong>
          <p>{info.guide}</p>
          <p className="muted small">
            Our entity ID, ACS URL and redirect URI appear on the next page, ready to copy.
          </p>
        </div>
        {testIdp ? (
          <p className="muted">The test IdP is a real SAML IdP inside the hub: nothing else to fill in.</p>
        ) : protocol === 'saml' ? (
          <fieldset>
            <legend>IdP metadata</legend>
            <div className="radio-row">
              <label>
                <input
                  type="radio"
                  name="meta"
                  checked={metadataSource === 'url'}
                  onChange={() => setMetadataSource('url')}
                />{' '}
                Metadata URL
              </label>
              <label>
                <input
                  type="radio"
                  name="meta"
                  checked={metadataSource === 'file'}
                  onChange={() => setMetadataSource('file')}
                />{' '}
                Upload XML file
              </label>
              <label>
                <input
                  type="radio"
                  name="meta"
                  checked={metadataSource === 'paste'}
                  onChange={() => setMetadataSource('paste')}
                />{' '}
                Paste XML
              </label>
            </div>
            {metadataSource === 'url' ? (
              <Field label="Metadata URL" htmlFor="c-meta-url" hint="Fetched now and re-read on refresh.">
                <input
                  id="c-meta-url"
                  type="url"
                  required
                  value={metadataUrl}
                  onChange={(e) => setMetadataUrl(e.target.value)}
                  placeholder="https://idp.example.com/metadata.xml"
                />
              </Field>
            ) : metadataSource === 'paste' ? (
              <Field
                label="Metadata XML"
                htmlFor="c-meta-xml"
                hint="The IdP’s federation metadata, as copied from its admin console (starts with <EntityDescriptor or <?xml)."
              >
                <textarea
                  id="c-meta-xml"
                  className="mono"
                  rows={8}
                  required
                  spellCheck={false}
                  value={pastedXml}
                  onChange={(e) => setPastedXml(e.target.value)}
                />
              </Field>
            ) : (
              <Field
                label="Metadata file"
                htmlFor="c-meta-file"
                hint={
                  fileName
                    ? `Read ${fileName} (${metadataXml.length} characters).`
                    : 'The IdP’s federation metadata XML.'
                }
              >
                <input
                  id="c-meta-file"
                  type="file"
                  accept=".xml,application/xml,text/xml"
                  required
                  onChange={async (e) => {
                    const file = e.target.files?.[0];
                    if (!file) return;
                    setFileName(file.name);
                    setMetadataXml(await file.text());
                  }}
                />
              </Field>
            )}
          </fieldset>
        ) : (
          <fieldset>
            <legend>OIDC client at the IdP</legend>
            <div className="grid2">
              <Field label="Discovery URL (issuer)" htmlFor="c-disc">
                <input
                  id="c-disc"
                  type="url"
                  required
                  value={discoveryUrl}
                  onChange={(e) => setDiscoveryUrl(e.target.value)}
                  placeholder="https://login.example.com"
                />
              </Field>
              {preset === 'entra' ? (
                <Field label="Tenant ID" htmlFor="c-tenant" hint="Pins tokens to this tenant.">
                  <input id="c-tenant" value={tenantId} onChange={(e) => setTenantId(e.target.value)} />
                </Field>
              ) : null}
              <Field label="Client ID" htmlFor="c-client">
                <input
                  id="c-client"
                  required
                  value={clientId}
                  onChange={(e) => setClientId(e.target.value)}
                />
              </Field>
              <Field label="Client secret" htmlFor="c-secret" hint="Stored encrypted; never shown again.">
                <input
                  id="c-secret"
                  type="password"
                  autoComplete="off"
                  value={clientSecret}
                  onChange={(e) => setClientSecret(e.target.value)}
                />
              </Field>
            </div>
          </fieldset>
        )}
        <ErrorBox error={create.error} />
        <div className="actions">
          <Button
            type="submit"
            className="primary"
            busy={create.busy}
            busyLabel="Checking the IdP and saving…"
          >
            Create connection
          </Button>
          <Link className="button secondary" to={`/admin/o/${org}/connections`}>
            Cancel
          </Link>
        </div>
      </form>
    </>
  );
}

export function ConnectionDetailPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const path = `/api/v1/organizations/${enc(org)}/connections/${enc(params.id ?? '')}`;
  const connection = useApi<Connection>(path);
  return (
    <Loader state={connection} label="Loading connection…">
      {(c) => <ConnectionDetail org={org} connection={c} session={session} reload={connection.reload} />}
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
  const base = `/api/v1/organizations/${enc(org)}/connections/${enc(c.id)}`;
  const toggle = useAction(async () => api('POST', `${base}/${c.enabled ? 'disable' : 'enable'}`));
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
            <Button
              className="secondary"
              busy={toggle.busy}
              onClick={async () => {
                if (await toggle.run()) reload();
              }}
            >
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
        <ReplaceMetadata base={base} connection={c} onDone={reload} />
      ) : null}
      <TestLogin org={org} connection={c} />
      <MappingEditor org={org} connection={c} canEdit={can(session, 'admin')} onSaved={reload} />
    </>
  );
}

/** New IdP metadata: read again from its URL, or a new file (a certificate rollover). */
function ReplaceMetadata({
  base,
  connection,
  onDone,
}: {
  base: string;
  connection: Connection;
  onDone: () => void;
}) {
  const [xml, setXml] = useState('');
  const [fileName, setFileName] = useState('');
  const [outcome, setOutcome] = useState<string | undefined>();
  const refresh = useAction(async () =>
    api<{ changed: boolean; error?: string }>('POST', `${base}/metadata/refresh`),
  );
  const upload = useAction(async () => api<Connection>('PATCH', base, { saml: { metadataXml: xml } }));
  return (
    <section className="card" aria-labelledby="meta-title">
      <h2 id="meta-title">Update the IdP metadata</h2>
      <p className="muted">
        When the client rolls over their signing certificate or moves their IdP, read the metadata again.
      </p>
      <div className="actions">
        {connection.saml?.metadataUrl ? (
          <Button
            className="secondary"
            busy={refresh.busy}
            busyLabel="Fetching metadata…"
            onClick={async () => {
              setOutcome(undefined);
              const result = await refresh.run();
              if (!result) return;
              setOutcome(
                result.error
                  ? `The metadata could not be read: ${result.error}. The last good settings stay in use.`
                  : result.changed
                    ? 'New metadata saved.'
                    : 'The metadata has not changed.',
              );
              onDone();
            }}
          >
            Read metadata again from its URL
          </Button>
        ) : null}
      </div>
      <form
        className="toolbar"
        onSubmit={async (event) => {
          event.preventDefault();
          setOutcome(undefined);
          if (await upload.run()) {
            setOutcome('Uploaded metadata saved.');
            onDone();
          }
        }}
      >
        <label htmlFor="meta-file">New metadata file</label>
        <input
          id="meta-file"
          type="file"
          accept=".xml,application/xml,text/xml"
          onChange={async (e) => {
            const file = e.target.files?.[0];
            if (!file) return;
            setFileName(file.name);
            setXml(await file.text());
          }}
        />
        <Button
          type="submit"
          className="secondary"
          disabled={!xml}
          busy={upload.busy}
          busyLabel="Checking and saving…"
        >
          Upload {fileName || 'metadata'}
        </Button>
      </form>
      <ErrorBox error={refresh.error ?? upload.error} />
      {outcome ? (
        <div className="ok-text" role="status">
          {outcome}
        </div>
      ) : null}
    </section>
  );
}

/** Opens the login in a new tab, then waits for its trace and shows it. */
function TestLogin({ org, connection }: { org: string; connection: Connection }) {
  const [startedAt, setStartedAt] = useState<number | undefined>();
  const [trace, setTrace] = useState<Trace | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  useEffect(() => {
    if (startedAt === undefined) return;
    let stopped = false;
    const poll = async () => {
      try {
        const page = await api<{ data: Trace[] }>(
          'GET',
          `/api/v1/organizations/${enc(org)}/login-traces?connection=${enc(connection.id)}&limit=1&since=${enc(new Date(startedAt - 5000).toISOString())}`,
        );
        const latest = page.data[0];
        if (latest && !stopped) {
          setTrace(latest);
          if (latest.status !== 'started') return;
        }
      } catch (caught) {
        if (!stopped) setError(caught as ApiError);
        return;
      }
      if (!stopped) timer = setTimeout(poll, 1500);
    };
    let timer = setTimeout(poll, 1000);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [startedAt, org, connection.id]);
  return (
    <section className="card" aria-labelledby="test-title">
      <h2 id="test-title">Test login</h2>
      <p className="muted">
        Opens a login on this connection in a new tab. Sign in there; the result appears here.
      </p>
      <div className="actions">
        <button
          type="button"
          className="primary"
          disabled={!connection.active}
          onClick={() => {
            setTrace(undefined);
            setError(undefined);
            setStartedAt(Date.now());
            window.open(connection.loginUrl, '_blank', 'noopener');
          }}
        >
          Run a test login
        </button>
        {!connection.active ? (
          <span className="muted">{connection.inactiveReason ?? 'The connection is not active.'}</span>
        ) : null}
      </div>
      <ErrorBox error={error} />
      {startedAt !== undefined && (!trace || trace.status === 'started') ? (
        <Spinner
          label={trace ? 'Login in progress in the other tab…' : 'Waiting for the login in the other tab…'}
        />
      ) : null}
      {trace ? (
        <div className="trace-result" data-testid="test-login-result">
          <div className="row">
            <StatusBadge status={trace.status} />
            <Link to={`/admin/o/${org}/traces/${trace.id}`} className="mono">
              {trace.id}
            </Link>
            {trace.email ? <span>{trace.email}</span> : null}
          </div>
          {trace.reason ? <div className="error">{trace.reason}</div> : null}
          <TraceSteps steps={trace.steps} />
        </div>
      ) : null}
    </section>
  );
}

const SAMPLE_CLAIMS: Record<string, Record<string, unknown>> = {
  saml: {
    email: 'jane.doe@example.com',
    firstName: 'Jane',
    lastName: 'Doe',
    groups: ['Engineering', 'Managers'],
  },
  oidc: {
    sub: '00u1abcd',
    email: 'jane.doe@example.com',
    given_name: 'Jane',
    family_name: 'Doe',
    groups: ['Engineering'],
  },
};

interface Preview {
  usable: boolean;
  profile: Record<string, unknown>;
  sources: Record<string, string>;
  missing: Array<{ field: string; tried: string[] }>;
  invalid: Array<{ field: string; source: string; reason: string }>;
  problems: string[];
}

/** Mapping JSON and sample claims side by side; the preview follows every edit. */
function MappingEditor({
  org,
  connection,
  canEdit,
  onSaved,
}: {
  org: string;
  connection: Connection;
  canEdit: boolean;
  onSaved: () => void;
}) {
  const [mappingText, setMappingText] = useState(JSON.stringify(connection.mapping, null, 2));
  const [claimsText, setClaimsText] = useState(JSON.stringify(SAMPLE_CLAIMS[connection.protocol], null, 2));
  const [nameId, setNameId] = useState(connection.protocol === 'saml' ? 'jane.doe@example.com' : '');
  const [preview, setPreview] = useState<Preview | undefined>();
  const [previewError, setPreviewError] = useState<ApiError | undefined>();
  const [previewing, setPreviewing] = useState(false);
  const [saved, setSaved] = useState(false);
  const ticket = useRef(0);
  const base = `/api/v1/organizations/${enc(org)}/connections/${enc(connection.id)}`;

  useEffect(() => {
    const mine = ++ticket.current;
    const timer = setTimeout(async () => {
      let mapping: unknown;
      let claims: unknown;
      try {
        mapping = JSON.parse(mappingText);
        claims = JSON.parse(claimsText);
      } catch (caught) {
        setPreviewError(
          new ApiError(0, {
            code: 'invalid_json',
            detail: `Not valid JSON: ${(caught as Error).message}`,
            fix: 'Fix the JSON to see the preview.',
          }),
        );
        return;
      }
      setPreviewing(true);
      try {
        const result = await api<Preview>('POST', `${base}/mapping/preview`, {
          claims,
          mapping,
          ...(nameId ? { nameId } : {}),
        });
        if (mine === ticket.current) {
          setPreview(result);
          setPreviewError(undefined);
        }
      } catch (caught) {
        if (mine === ticket.current) setPreviewError(caught as ApiError);
      } finally {
        if (mine === ticket.current) setPreviewing(false);
      }
    }, 400);
    return () => clearTimeout(timer);
  }, [mappingText, claimsText, nameId, base]);

  const save = useAction(async () => api('PATCH', base, { mapping: JSON.parse(mappingText) }));

  return (
    <section className="card" aria-labelledby="mapping-title">
      <h2 id="mapping-title">Attribute mapping</h2>
      <p className="muted">
        Each field names a claim or SAML attribute (or a list tried in order; <code>$nameid</code> is the SAML
        NameID). The preview shows what a login with the sample claims would produce.
      </p>
      <div className="grid2">
        <Field label="Mapping (JSON)" htmlFor="map-json">
          <textarea
            id="map-json"
            className="mono"
            rows={14}
            value={mappingText}
            onChange={(e) => setMappingText(e.target.value)}
            spellCheck={false}
          />
        </Field>
        <div>
          <Field label="Sample claims from the IdP (JSON)" htmlFor="map-claims">
            <textarea
              id="map-claims"
              className="mono"
              rows={10}
              value={claimsText}
              onChange={(e) => setClaimsText(e.target.value)}
              spellCheck={false}
            />
          </Field>
          {connection.protocol === 'saml' ? (
            <Field label="NameID" htmlFor="map-nameid">
              <input id="map-nameid" value={nameId} onChange={(e) => setNameId(e.target.value)} />
            </Field>
          ) : null}
        </div>
      </div>
      <div className="preview" aria-live="polite" data-testid="mapping-preview">
        <h3>
          Preview{' '}
          {previewing ? (
            <span>
              <span className="spinner small" aria-hidden="true" />
              <span className="visually-hidden">Updating preview</span>
            </span>
          ) : null}
        </h3>
        <ErrorBox error={previewError} />
        {preview && !previewError ? (
          <>
            <div>
              {preview.usable ? (
                <Badge tone="ok">Login would succeed</Badge>
              ) : (
                <Badge tone="bad">Login would fail</Badge>
              )}
            </div>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Field</th>
                    <th>Value</th>
                    <th>From</th>
                  </tr>
                </thead>
                <tbody>
                  {Object.entries(preview.profile).map(([field, value]) => (
                    <tr key={field}>
                      <td>{field}</td>
                      <td className="mono">{typeof value === 'string' ? value : JSON.stringify(value)}</td>
                      <td className="mono">{preview.sources[field] ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {preview.missing.length ? (
              <div className="warning">
                Missing:{' '}
                {preview.missing
                  .map((m) => `${m.field} (tried ${m.tried.join(', ') || 'nothing'})`)
                  .join('; ')}
              </div>
            ) : null}
            {preview.invalid.map((i) => (
              <div key={i.field} className="warning">
                {i.field} from {i.source}: {i.reason}
              </div>
            ))}
            {preview.problems.map((p) => (
              <div key={p} className="error">
                {p}
              </div>
            ))}
          </>
        ) : null}
      </div>
      <ErrorBox error={save.error} />
      {saved ? (
        <div className="ok-text" role="status">
          Mapping saved.
        </div>
      ) : null}
      {canEdit ? (
        <div className="actions">
          <Button
            className="primary"
            busy={save.busy}
            busyLabel="Saving…"
            onClick={async () => {
              setSaved(false);
              if (await save.run()) {
                setSaved(true);
                onSaved();
              }
            }}
          >
            Save mapping
          </Button>
        </div>
      ) : null}
    </section>
  );
}
