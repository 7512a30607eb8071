/** Console people: who may use the console and with which role. Owners grant and revoke. */
import { type FormEvent, useState } from 'react';
import { api, can, enc, useAction, useApi } from '../api.ts';
import type { PageProps } from '../app.tsx';
import { Button, Empty, ErrorBox, Field, Loader, PageHeader, when } from '../components/ui.tsx';

interface Member {
  id: string;
  email: string;
  userId: string | null;
  role: 'owner' | 'admin' | 'support';
  grantedBy: string | null;
  lastSignInAt: string | null;
  createdAt: string;
}

const ROLES = {
  owner: 'Owner: everything, including who may use the console',
  admin: 'Admin: create and change everything',
  support: 'Support: read everything, retry failed work',
} as const;

export function PeoplePage({ session }: PageProps) {
  const list = useApi<{ data: Member[] }>('/api/v1/console/members');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<keyof typeof ROLES>('admin');
  const grant = useAction(async () => api<Member>('POST', '/api/v1/console/members', { email, role }));
  const revoke = useAction(async (id: string) => api('DELETE', `/api/v1/console/members/${enc(id)}`));
  const owner = can(session, 'owner');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (await grant.run()) {
      setEmail('');
      list.reload();
    }
  };
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
              <input
                id="p-email"
                type="email"
                required
                value={email}
                onChange={(e) => setEmail(e.target.value)}
              />
            </Field>
            <Field label="Role" htmlFor="p-role">
              <select
                id="p-role"
                value={role}
                onChange={(e) => setRole(e.target.value as keyof typeof ROLES)}
              >
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
            <Button type="submit" className="primary" busy={grant.busy} busyLabel="Granting…">
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
                            busy={revoke.busy}
                            onClick={async () => {
                              if (
                                !window.confirm(
                                  `Revoke ${m.email}'s console role? Their console sessions end now.`,
                                )
                              )
                                return;
                              if ((await revoke.run(m.id)) !== undefined) list.reload();
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
