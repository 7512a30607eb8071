/** Console people: who may use the console and with which role. Owners grant and revoke. */
import { zodResolver } from '@hookform/resolvers/zod';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useForm } from 'react-hook-form';
import { z } from 'zod/mini';
import { client, unwrap } from '../api/client.ts';
import { apiQuery, invalidate, useApiMutation } from '../api/queries.ts';
import { can } from '../api/session.ts';
import type { Schemas } from '../api/types.ts';
import type { PageProps } from '../app.tsx';
import { Button, Empty, ErrorBox, Field, Loader, PageHeader, when } from '../components/ui.tsx';

const ROLES = {
  owner: 'Owner: everything, including who may use the console',
  admin: 'Admin: create and change everything',
  support: 'Support: read everything, retry failed work',
} as const;

const grantForm = z.object({ email: z.string(), role: z.enum(['owner', 'admin', 'support']) });

export function PeoplePage({ session }: PageProps) {
  const queryClient = useQueryClient();
  const list = useQuery(apiQuery('/api/v1/console/members', undefined));
  const form = useForm<z.infer<typeof grantForm>>({
    resolver: zodResolver(grantForm),
    defaultValues: { email: '', role: 'admin' },
  });
  const grant = useApiMutation(
    (body: Schemas['GrantConsoleRole']) => unwrap(client.POST('/api/v1/console/members', { body })),
    {
      onSuccess: () => {
        form.resetField('email');
        return invalidate(queryClient, '/api/v1/console/members');
      },
    },
  );
  const revoke = useApiMutation(
    (id: string) => unwrap(client.DELETE('/api/v1/console/members/{id}', { params: { path: { id } } })),
    { onSuccess: () => invalidate(queryClient, '/api/v1/console/members') },
  );
  const owner = can(session, 'owner');
  const submit = form.handleSubmit((values) => grant.mutate(values));
  return (
    <>
      <PageHeader
        title="Console people"
        subtitle="Staff sign in with SSO (their email must be on a verified domain of their organization)."
      />
      {owner ? (
        <form className="card form" onSubmit={submit} aria-label="Grant a console role">
          <h2>Grant a role</h2>
          <div className="grid2">
            <Field
              label="Email"
              htmlFor="p-email"
              hint="Their sign-in email; the grant binds to them at first sign-in."
            >
              <input id="p-email" type="email" required {...form.register('email')} />
            </Field>
            <Field label="Role" htmlFor="p-role">
              <select id="p-role" {...form.register('role')}>
                {Object.entries(ROLES).map(([key, label]) => (
                  <option key={key} value={key}>
                    {label}
                  </option>
                ))}
              </select>
            </Field>
          </div>
          <ErrorBox error={grant.error} />
          <div className="actions">
            <Button type="submit" className="primary" busy={grant.isPending} busyLabel="Granting…">
              Grant role
            </Button>
          </div>
        </form>
      ) : (
        <p className="muted">Only console owners grant and revoke roles.</p>
      )}
      <ErrorBox error={revoke.error} />
      <Loader state={list} label="Loading console people…">
        {(page) =>
          page.data.length === 0 ? (
            <Empty title="Nobody has a console role yet.">
              Grant yourself the owner role, then sign in with SSO.
            </Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Email</th>
                    <th>Role</th>
                    <th>Last sign-in</th>
                    <th>Granted by</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((m) => (
                    <tr key={m.id}>
                      <td>{m.email}</td>
                      <td>{m.role}</td>
                      <td>{m.lastSignInAt ? when(m.lastSignInAt) : 'never'}</td>
                      <td>{m.grantedBy ?? '—'}</td>
                      <td>
                        {owner ? (
                          <Button
                            className="danger small"
                            busy={revoke.isPending}
                            onClick={() => {
                              if (
                                !window.confirm(
                                  `Revoke ${m.email}'s console role? Their console sessions end now.`,
                                )
                              )
                                return;
                              revoke.mutate(m.id);
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
