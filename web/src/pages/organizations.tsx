/** Organizations: the list, creating one, and one organization's settings (domains, policies). */
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
import { Link, navigate } from '../router.tsx';

export interface Domain {
  id: string;
  domain: string;
  verified: boolean;
  verifiedAt: string | null;
  verification: { type: 'TXT'; name: string; value: string };
  lastCheckedAt: string | null;
  lastCheckError: string | null;
  /** Other organizations holding the same domain (GET of one organization only). */
  otherClaims?: Array<{ organizationId: string; slug: string; name: string; verified: boolean }>;
}

export interface Organization {
  id: string;
  slug: string;
  name: string;
  status: 'active' | 'suspended';
  region: string;
  environment: 'production' | 'sandbox';
  policies: { jitProvisioning: boolean; jitEmailDomains: string; accountLinking: string; scimDelete: string };
  instances: Record<string, string>;
  domains: Domain[];
  createdAt: string;
}

export function OrganizationsPage({ session }: PageProps) {
  const [q, setQ] = useState('');
  const [query, setQuery] = useState('');
  const list = useApi<{ data: Organization[] }>(
    `/api/v1/organizations?limit=200${query ? `&q=${enc(query)}` : ''}`,
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
      <form
        className="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          setQuery(q.trim());
        }}
      >
        <label htmlFor="org-search" className="visually-hidden">
          Search organizations
        </label>
        <input
          id="org-search"
          placeholder="Search by name or slug"
          value={q}
          onChange={(e) => setQ(e.target.value)}
        />
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

interface CreationWarning {
  code: 'slug_changed' | 'similar_name';
  message: string;
  organizations: Array<{ id: string; slug: string; name: string }>;
}

function CreateOrganization({ onCancel }: { onCancel: () => void }) {
  const [created, setCreated] = useState<(Organization & { warnings: CreationWarning[] }) | undefined>();
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [domains, setDomains] = useState('');
  const [environment, setEnvironment] = useState<'production' | 'sandbox'>('sandbox');
  const [region, setRegion] = useState('');
  const create = useAction(async () =>
    api<Organization & { warnings: CreationWarning[] }>('POST', '/api/v1/organizations', {
      name,
      ...(slug ? { slug } : {}),
      domains: domains
        .split(/[\s,]+/)
        .map((d) => d.trim())
        .filter(Boolean),
      environment,
      ...(region ? { region } : {}),
    }),
  );
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const org = await create.run();
    if (!org) return;
    // A changed slug or a similar name is said before moving on: two "Acme" are easy to confuse.
    if (org.warnings?.length) setCreated(org);
    else navigate(`/admin/o/${org.slug}/settings`);
  };
  if (created) {
    return (
      <section className="card" aria-labelledby="org-created-title">
        <h2 id="org-created-title">
          {created.name} created as <span className="mono">{created.slug}</span>
        </h2>
        {created.warnings.map((warning) => (
          <div key={warning.code} className="warning">
            {warning.message}
          </div>
        ))}
        <div className="actions">
          <Link className="button primary" to={`/admin/o/${created.slug}/settings`}>
            Open {created.name} ({created.slug})
          </Link>
        </div>
      </section>
    );
  }
  return (
    <form className="card form" onSubmit={submit} aria-label="New organization">
      <h2>New organization</h2>
      <div className="grid2">
        <Field label="Name" htmlFor="org-name">
          <input id="org-name" required value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <Field
          label="Slug"
          htmlFor="org-slug"
          hint="Lowercase letters, digits and hyphens; derived from the name when empty."
        >
          <input
            id="org-slug"
            value={slug}
            onChange={(e) => setSlug(e.target.value)}
            placeholder="acme-corp"
          />
        </Field>
        <Field
          label="Email domains"
          htmlFor="org-domains"
          hint="Comma-separated, e.g. acme.com, acme.co.uk. Verified later through DNS."
        >
          <input id="org-domains" value={domains} onChange={(e) => setDomains(e.target.value)} />
        </Field>
        <Field
          label="Environment"
          htmlFor="org-env"
          hint="Sandbox organizations may use the built-in test IdP."
        >
          <select
            id="org-env"
            value={environment}
            onChange={(e) => setEnvironment(e.target.value as 'production' | 'sandbox')}
          >
            <option value="sandbox">Sandbox</option>
            <option value="production">Production</option>
          </select>
        </Field>
        <Field label="Data region" htmlFor="org-region" hint="Optional label such as eu or us.">
          <input id="org-region" value={region} onChange={(e) => setRegion(e.target.value)} />
        </Field>
      </div>
      <ErrorBox error={create.error} />
      <div className="actions">
        <Button type="submit" className="primary" busy={create.busy} busyLabel="Creating…">
          Create organization
        </Button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function OrganizationPage({ session, params }: PageProps) {
  const org = useApi<Organization>(`/api/v1/organizations/${enc(params.org ?? '')}`);
  return (
    <Loader state={org} label="Loading organization…">
      {(data) => <OrganizationSettings org={data} reload={org.reload} canEdit={can(session, 'admin')} />}
    </Loader>
  );
}

function OrganizationSettings({
  org,
  reload,
  canEdit,
}: {
  org: Organization;
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

function Domains({ org, reload, canEdit }: { org: Organization; reload: () => void; canEdit: boolean }) {
  const [domain, setDomain] = useState('');
  const base = `/api/v1/organizations/${enc(org.id)}/domains`;
  const add = useAction(async () => api('POST', base, { domain }));
  const verify = useAction(async (name: string) => api('POST', `${base}/${enc(name)}/verify`));
  const remove = useAction(async (name: string) => api('DELETE', `${base}/${enc(name)}`));
  return (
    <section className="card" aria-labelledby="domains-title">
      <h2 id="domains-title">Domains</h2>
      <p className="muted">
        People sign in by email: their domain must be verified. Ask the client to publish the TXT record, then
        check.
      </p>
      {org.domains.length === 0 ? (
        <Empty title="No domains yet.">Add the email domains the client owns.</Empty>
      ) : null}
      <ul className="domain-list">
        {org.domains.map((d) => (
          <li key={d.id} className="domain">
            <div className="row">
              <strong>{d.domain}</strong>
              <StatusBadge status={d.verified ? 'verified' : 'unverified'} />
              {d.lastCheckedAt ? <span className="muted small">checked {when(d.lastCheckedAt)}</span> : null}
            </div>
            {d.lastCheckError && !d.verified ? <div className="warn-text">{d.lastCheckError}</div> : null}
            <OtherClaims domain={d} />
            {!d.verified ? (
              <div className="grid2">
                <CopyField label="TXT record name" value={d.verification.name} />
                <CopyField label="TXT record value" value={d.verification.value} />
              </div>
            ) : null}
            {canEdit ? (
              <div className="actions">
                {!d.verified ? (
                  <Button
                    className="secondary"
                    busy={verify.busy}
                    busyLabel="Checking DNS…"
                    onClick={async () => {
                      await verify.run(d.domain);
                      reload();
                    }}
                  >
                    Check DNS now
                  </Button>
                ) : null}
                <Button
                  className="danger"
                  busy={remove.busy}
                  onClick={async () => {
                    if (!window.confirm(`Remove ${d.domain}? People on it can no longer sign in by email.`))
                      return;
                    await remove.run(d.domain);
                    reload();
                  }}
                >
                  Remove
                </Button>
              </div>
            ) : null}
          </li>
        ))}
      </ul>
      <ErrorBox error={verify.error ?? remove.error} />
      {canEdit ? (
        <form
          className="toolbar"
          onSubmit={async (event) => {
            event.preventDefault();
            if (await add.run()) {
              setDomain('');
              reload();
            }
          }}
        >
          <label htmlFor="new-domain" className="visually-hidden">
            New domain
          </label>
          <input
            id="new-domain"
            placeholder="example.com"
            value={domain}
            onChange={(e) => setDomain(e.target.value)}
            required
          />
          <Button type="submit" className="secondary" busy={add.busy}>
            Add domain
          </Button>
        </form>
      ) : null}
      <ErrorBox error={add.error} />
    </section>
  );
}

/**
 * Other organizations holding the same domain: the one that verified it (then this organization
 * can never verify it), or pending claims (the first to verify wins, the others stay unverified).
 */
function OtherClaims({ domain }: { domain: Domain }) {
  const claims = domain.otherClaims ?? [];
  if (claims.length === 0) return null;
  const owner = claims.find((claim) => claim.verified);
  const pending = claims.filter((claim) => !claim.verified);
  const link = (claim: (typeof claims)[number]) => (
    <Link key={claim.organizationId} to={`/admin/o/${claim.slug}/settings`}>
      {claim.name}
    </Link>
  );
  return (
    <div className="other-claims" data-testid="other-claims">
      {owner ? (
        <div className="warn-text">
          Verified by {link(owner)}: logins on {domain.domain} go there, and this organization cannot verify
          it.
        </div>
      ) : null}
      {pending.length ? (
        <div className={domain.verified ? 'muted small' : 'warn-text'}>
          Also claimed, not verified, by{' '}
          {pending.map((claim, index) => (
            <span key={claim.organizationId}>
              {index ? ', ' : ''}
              {link(claim)}
            </span>
          ))}
          {domain.verified ? '.' : ': whichever organization verifies it first gets it.'}
        </div>
      ) : null}
    </div>
  );
}

function Policies({ org, reload, canEdit }: { org: Organization; reload: () => void; canEdit: boolean }) {
  const [policies, setPolicies] = useState(org.policies);
  const [environment, setEnvironment] = useState(org.environment);
  const [region, setRegion] = useState(org.region);
  const [instances, setInstances] = useState(JSON.stringify(org.instances, null, 2));
  const [saved, setSaved] = useState(false);
  const save = useAction(async () => {
    let parsedInstances: Record<string, string>;
    try {
      parsedInstances = JSON.parse(instances || '{}');
    } catch {
      throw new Error('Instances must be a JSON object such as {"coaching": "https://acme.example.com"}.');
    }
    return api('PATCH', `/api/v1/organizations/${enc(org.id)}`, {
      policies,
      environment,
      region,
      instances: parsedInstances,
    });
  });
  return (
    <form
      className="card form"
      aria-labelledby="policies-title"
      onSubmit={async (event) => {
        event.preventDefault();
        setSaved(false);
        if (await save.run()) {
          setSaved(true);
          reload();
        }
      }}
    >
      <h2 id="policies-title">Policies, environment and instances</h2>
      <fieldset disabled={!canEdit}>
        <div className="grid2">
          <Field
            label="Just-in-time provisioning"
            htmlFor="pol-jit"
            hint="Create a user at their first SSO login."
          >
            <select
              id="pol-jit"
              value={policies.jitProvisioning ? 'on' : 'off'}
              onChange={(e) => setPolicies({ ...policies, jitProvisioning: e.target.value === 'on' })}
            >
              <option value="on">On</option>
              <option value="off">Off</option>
            </select>
          </Field>
          <Field
            label="JIT email domains"
            htmlFor="pol-jit-domains"
            hint="Which emails just-in-time provisioning may create users for."
          >
            <select
              id="pol-jit-domains"
              value={policies.jitEmailDomains}
              onChange={(e) => setPolicies({ ...policies, jitEmailDomains: e.target.value })}
            >
              <option value="any">Any email the IdP sends</option>
              <option value="verified_domains">Only on verified domains</option>
            </select>
          </Field>
          <Field
            label="Account linking"
            htmlFor="pol-link"
            hint="When an SSO identity arrives with an existing user's email."
          >
            <select
              id="pol-link"
              value={policies.accountLinking}
              onChange={(e) => setPolicies({ ...policies, accountLinking: e.target.value })}
            >
              <option value="verified_domain">Only on verified domains</option>
              <option value="any_email">Any email</option>
              <option value="never">Never</option>
            </select>
          </Field>
          <Field label="SCIM delete" htmlFor="pol-scim" hint="What a SCIM DELETE does.">
            <select
              id="pol-scim"
              value={policies.scimDelete}
              onChange={(e) => setPolicies({ ...policies, scimDelete: e.target.value })}
            >
              <option value="deprovision">Keep as deprovisioned</option>
              <option value="remove">Remove entirely</option>
            </select>
          </Field>
          <Field label="Environment" htmlFor="pol-env">
            <select
              id="pol-env"
              value={environment}
              onChange={(e) => setEnvironment(e.target.value as 'production' | 'sandbox')}
            >
              <option value="sandbox">Sandbox</option>
              <option value="production">Production</option>
            </select>
          </Field>
          <Field label="Data region" htmlFor="pol-region">
            <input id="pol-region" value={region} onChange={(e) => setRegion(e.target.value)} />
          </Field>
          <Field
            label="App instances (JSON)"
            htmlFor="pol-inst"
            hint='Application key → base URL, e.g. {"coaching": "https://acme.example.com"}'
          >
            <textarea
              id="pol-inst"
              rows={3}
              className="mono"
              value={instances}
              onChange={(e) => setInstances(e.target.value)}
            />
          </Field>
        </div>
      </fieldset>
      <ErrorBox error={save.error} />
      {saved ? (
        <div className="ok-text" role="status">
          Saved.
        </div>
      ) : null}
      {canEdit ? (
        <div className="actions">
          <Button type="submit" className="primary" busy={save.busy} busyLabel="Saving…">
            Save settings
          </Button>
        </div>
      ) : null}
    </form>
  );
}
