/** Setup links: a link for the client's IT admin to set up SSO, SCIM or a domain themselves. */
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

interface SetupLink {
  id: string;
  intent: 'sso' | 'scim' | 'domain';
  label: string | null;
  status: 'active' | 'expired' | 'revoked';
  tokenPrefix: string;
  createdBy: { type: string; name?: string };
  expiresAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

const INTENTS = {
  sso: 'Single sign-on (SAML or OIDC): IdP guides, our values, their metadata or client, a test login',
  scim: 'Provisioning (SCIM): the endpoint and its token',
  domain: 'Domain verification: the DNS record and a check',
} as const;

export function SetupLinksPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const base = `/api/v1/organizations/${enc(org)}/setup-links`;
  const [includeInactive, setIncludeInactive] = useState(false);
  const list = useApi<{ data: SetupLink[] }>(`${base}${includeInactive ? '?includeInactive=true' : ''}`);
  const [intent, setIntent] = useState<keyof typeof INTENTS>('sso');
  const [label, setLabel] = useState('');
  const [days, setDays] = useState('7');
  const [created, setCreated] = useState<{ url: string; link: SetupLink } | undefined>();
  const create = useAction(async () =>
    api<{ url: string; link: SetupLink }>('POST', base, {
      intent,
      ...(label ? { label } : {}),
      expiresInDays: Number(days),
    }),
  );
  const revoke = useAction(async (id: string) => api('POST', `${base}/${enc(id)}/revoke`));
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await create.run();
    if (result) {
      setCreated(result);
      setLabel('');
      list.reload();
    }
  };
  return (
    <>
      <PageHeader
        title="Setup links"
        subtitle="Send the client's IT admin a link: they set up their side without an account. One organization, one purpose, expiring."
      />
      {created ? (
        <section className="card secret-once" aria-labelledby="link-title">
          <h2 id="link-title">Setup link for {created.link.intent.toUpperCase()}</h2>
          <strong>Copy it now: it is shown only once.</strong>
          <CopyField label="Setup link" value={created.url} secret />
          <div className="muted small">
            Valid until {when(created.link.expiresAt)}. Anyone holding it can change what it allows: send it
            over a channel you trust.
          </div>
          <div className="actions">
            <button type="button" className="secondary" onClick={() => setCreated(undefined)}>
              Done
            </button>
          </div>
        </section>
      ) : null}
      {can(session, 'admin') && !created ? (
        <form className="card form" onSubmit={submit} aria-label="New setup link">
          <h2>New setup link</h2>
          <div className="grid2">
            <Field label="Purpose" htmlFor="s-intent">
              <select
                id="s-intent"
                value={intent}
                onChange={(e) => setIntent(e.target.value as keyof typeof INTENTS)}
              >
                {Object.entries(INTENTS).map(([key, text]) => (
                  <option key={key} value={key}>
                    {text}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="For whom" htmlFor="s-label" hint="Shown as the actor in the audit log.">
              <input
                id="s-label"
                value={label}
                onChange={(e) => setLabel(e.target.value)}
                placeholder="Jane Roe, Acme IT"
              />
            </Field>
            <Field label="Expires in (days)" htmlFor="s-days">
              <input
                id="s-days"
                type="number"
                min={1}
                max={90}
                value={days}
                onChange={(e) => setDays(e.target.value)}
              />
            </Field>
          </div>
          <ErrorBox error={create.error} />
          <div className="actions">
            <Button type="submit" className="primary" busy={create.busy} busyLabel="Creating…">
              Create setup link
            </Button>
          </div>
        </form>
      ) : null}
      <div className="toolbar">
        <label className="row">
          <input
            type="checkbox"
            checked={includeInactive}
            onChange={(e) => setIncludeInactive(e.target.checked)}
          />{' '}
          Show expired and revoked links
        </label>
      </div>
      <ErrorBox error={revoke.error} />
      <Loader state={list} label="Loading setup links…">
        {(page) =>
          page.data.length === 0 ? (
            <Empty title="No active setup links.">Create one and send it to the client's IT admin.</Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Purpose</th>
                    <th>For</th>
                    <th>Status</th>
                    <th>Expires</th>
                    <th>Last used</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((link) => (
                    <tr key={link.id}>
                      <td>{link.intent.toUpperCase()}</td>
                      <td>{link.label ?? '—'}</td>
                      <td>
                        <StatusBadge status={link.status} />
                      </td>
                      <td>{when(link.expiresAt)}</td>
                      <td>{when(link.lastUsedAt)}</td>
                      <td>
                        {can(session, 'admin') && link.status === 'active' ? (
                          <Button
                            className="danger small"
                            busy={revoke.busy}
                            onClick={async () => {
                              if (!window.confirm('Revoke this setup link? It stops working at once.'))
                                return;
                              if ((await revoke.run(link.id)) !== undefined) list.reload();
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
          )
        }
      </Loader>
    </>
  );
}
