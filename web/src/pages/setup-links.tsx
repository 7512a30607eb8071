/** Setup links: a link for the client's IT admin to set up SSO, SCIM or a domain themselves. */
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

const INTENTS = {
  sso: 'Single sign-on (SAML or OIDC): IdP guides, our values, their metadata or client, a test login',
  scim: 'Provisioning (SCIM): the endpoint and its token',
  domain: 'Domain verification: the DNS record and a check',
} as const;

const linkForm = z.object({
  intent: z.enum(['sso', 'scim', 'domain']),
  label: z.string(),
  days: z.string(),
});

export function SetupLinksPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const queryClient = useQueryClient();
  const [includeInactive, setIncludeInactive] = useState(false);
  const list = useQuery(
    apiQuery('/api/v1/organizations/{org}/setup-links', {
      params: { path: { org }, query: includeInactive ? { includeInactive: 'true' } : {} },
    }),
  );
  const form = useForm<z.infer<typeof linkForm>>({
    resolver: zodResolver(linkForm),
    defaultValues: { intent: 'sso', label: '', days: '7' },
  });
  const [created, setCreated] = useState<Schemas['CreatedSetupLink'] | undefined>();
  const reload = () => invalidate(queryClient, '/api/v1/organizations/{org}/setup-links');
  const create = useApiMutation(
    (body: Schemas['CreateSetupLink']) =>
      unwrap(client.POST('/api/v1/organizations/{org}/setup-links', { params: { path: { org } }, body })),
    {
      onSuccess: (result) => {
        setCreated(result);
        form.resetField('label');
        return reload();
      },
    },
  );
  const revoke = useApiMutation(
    (id: string) =>
      unwrap(
        client.POST('/api/v1/organizations/{org}/setup-links/{id}/revoke', { params: { path: { org, id } } }),
      ),
    { onSuccess: reload },
  );
  const submit = form.handleSubmit(({ intent, label, days }) =>
    create.mutate({ intent, ...(label ? { label } : {}), expiresInDays: Number(days) }),
  );
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
              <select id="s-intent" {...form.register('intent')}>
                {Object.entries(INTENTS).map(([key, text]) => (
                  <option key={key} value={key}>
                    {text}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="For whom" htmlFor="s-label" hint="Shown as the actor in the audit log.">
              <input id="s-label" {...form.register('label')} placeholder="Jane Roe, Acme IT" />
            </Field>
            <Field label="Expires in (days)" htmlFor="s-days">
              <input id="s-days" type="number" min={1} max={90} {...form.register('days')} />
            </Field>
          </div>
          <ErrorBox error={create.error} />
          <div className="actions">
            <Button type="submit" className="primary" busy={create.isPending} busyLabel="Creating…">
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
                            busy={revoke.isPending}
                            onClick={() => {
                              if (!window.confirm('Revoke this setup link? It stops working at once.'))
                                return;
                              revoke.mutate(link.id);
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
