/**
 * The SSO handoffs to a Thinkific destination's site (LMS sites that post-login routes hand people
 * to), signed with the destination's API key: one credential, rotated once in its settings. Sites
 * that still keep a copy of the key are offered to use this one instead.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useForm } from 'react-hook-form';
import { client, unwrap } from '../../api/client.ts';
import { apiQuery, invalidate, useApiMutation } from '../../api/queries.ts';
import type { Schemas } from '../../api/types.ts';
import { Badge, Button, Empty, ErrorBox, Field, Loader } from '../../components/ui.tsx';
import type { Destination } from './kinds.tsx';

type LmsSite = Schemas['LmsSite'];

export function SsoHandoffs({
  org,
  destination,
  admin,
}: {
  org: string;
  destination: Destination;
  admin: boolean;
}) {
  const queryClient = useQueryClient();
  const path = { params: { path: { org } } };
  const sites = useQuery(apiQuery('/api/v1/organizations/{org}/lms-sites', path));
  const reload = () => invalidate(queryClient, '/api/v1/organizations/{org}/lms-sites');
  const subdomain =
    typeof destination.settings.subdomain === 'string' ? destination.settings.subdomain.toLowerCase() : '';
  const form = useForm({ defaultValues: { name: `${destination.name} sign-in`, returnTo: '' } });
  const add = useApiMutation(
    ({ name, returnTo }: { name: string; returnTo: string }) =>
      unwrap(
        client.POST('/api/v1/organizations/{org}/lms-sites', {
          ...path,
          body: {
            name,
            destinationId: destination.id,
            ...(returnTo.trim() ? { defaultReturnTo: returnTo.trim() } : {}),
          } as Schemas['CreateLmsSiteInput'],
        }),
      ),
    {
      onSuccess: () => {
        form.resetField('returnTo');
        return reload();
      },
    },
  );
  const share = useApiMutation(
    (site: LmsSite) =>
      unwrap(
        client.PATCH('/api/v1/organizations/{org}/lms-sites/{id}', {
          params: { path: { org, id: site.id } },
          body: { destinationId: destination.id },
        }),
      ),
    { onSuccess: reload },
  );
  const hasApiKey = 'apiKey' in destination.credentials;
  return (
    <section className="card" aria-labelledby="sso-title">
      <h2 id="sso-title">Single sign-on handoff</h2>
      <p className="muted">
        Post-login routes can hand people to {subdomain || 'this site'} signed in. The handoff is signed with
        this destination's API key: replace the key in the settings above and both use the new one.
      </p>
      <Loader state={sites} label="Loading LMS sites…">
        {(page) => {
          const signing = page.data.filter((site) => site.destinationId === destination.id);
          const copies = page.data.filter((site) => !site.destinationId && site.subdomain === subdomain);
          return (
            <>
              {signing.length === 0 && copies.length === 0 ? (
                <Empty title="No SSO handoff to this site yet." />
              ) : null}
              <ul className="plain">
                {signing.map((site) => (
                  <li key={site.id}>
                    <strong>{site.name}</strong> <Badge tone="ok">signs with this destination's key</Badge>{' '}
                    <span className="mono small">{site.ssoUrl}</span>
                  </li>
                ))}
                {copies.map((site) => (
                  <li key={site.id}>
                    <strong>{site.name}</strong> <Badge tone="warn">keeps its own copy of the key</Badge>{' '}
                    {admin && hasApiKey ? (
                      <Button
                        className="secondary small"
                        busy={share.isPending}
                        onClick={() => share.mutate(site)}
                      >
                        Use this destination's key
                      </Button>
                    ) : null}
                  </li>
                ))}
              </ul>
            </>
          );
        }}
      </Loader>
      <ErrorBox error={share.error} />
      {admin && hasApiKey ? (
        <form
          className="form"
          aria-label="New SSO handoff"
          onSubmit={form.handleSubmit((values) => add.mutate(values))}
        >
          <div className="grid2">
            <Field label="Handoff name" htmlFor="sso-name">
              <input id="sso-name" {...form.register('name')} />
            </Field>
            <Field
              label="Default return URL"
              htmlFor="sso-return-to"
              hint="Where Thinkific sends people after sign-in, unless a route says otherwise (optional)."
            >
              <input
                id="sso-return-to"
                type="url"
                {...form.register('returnTo')}
                placeholder={`https://${subdomain || 'acme'}.thinkific.com/enrollments`}
              />
            </Field>
          </div>
          <ErrorBox error={add.error} />
          <div className="actions">
            <Button type="submit" className="secondary" busy={add.isPending} busyLabel="Adding…">
              Add SSO handoff
            </Button>
          </div>
        </form>
      ) : !hasApiKey ? (
        <div className="warning">
          This destination connects with an OAuth token; Thinkific signs SSO only with the site's API key.
        </div>
      ) : null}
    </section>
  );
}
