/** Destinations of one organization: where people are provisioned, and a new one. */
import { zodResolver } from '@hookform/resolvers/zod';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { z } from 'zod/mini';
import { client, unwrap } from '../../api/client.ts';
import { apiQuery, invalidate, useApiMutation } from '../../api/queries.ts';
import { can } from '../../api/session.ts';
import type { Schemas } from '../../api/types.ts';
import type { PageProps } from '../../app.tsx';
import {
  Badge,
  Button,
  CopyField,
  Empty,
  ErrorBox,
  Field,
  Loader,
  PageHeader,
  when,
} from '../../components/ui.tsx';
import { Link } from '../../router.tsx';
import { type Destination, KINDS, KindFields, splitValues } from './kinds.tsx';

const destinationForm = z.object({
  kind: z.enum(['thinkific', 'scim', 'webhook']),
  name: z.string(),
  values: z.record(z.string(), z.string()),
});
type DestinationForm = z.infer<typeof destinationForm>;

export function DestinationsPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const queryClient = useQueryClient();
  const list = useQuery(apiQuery('/api/v1/organizations/{org}/destinations', { params: { path: { org } } }));
  const form = useForm<DestinationForm>({
    resolver: zodResolver(destinationForm),
    defaultValues: { kind: 'thinkific', name: '', values: {} },
  });
  const kind = form.watch('kind');
  const [created, setCreated] = useState<Destination | undefined>();
  const create = useApiMutation(
    (body: Schemas['CreateDestinationInput']) =>
      unwrap(client.POST('/api/v1/organizations/{org}/destinations', { params: { path: { org } }, body })),
    {
      onSuccess: (result) => {
        setCreated(result);
        form.reset({ kind: form.getValues('kind'), name: '', values: {} });
        return invalidate(queryClient, '/api/v1/organizations/{org}/destinations');
      },
    },
  );
  const submit = form.handleSubmit(({ kind, name, values }) => {
    const { settings, credentials } = splitValues(kind, values);
    // Each kind has its own settings and credentials; the hub checks them and names what is wrong.
    create.mutate({
      kind,
      name: name || KINDS[kind],
      settings,
      credentials,
    } as Schemas['CreateDestinationInput']);
  });
  return (
    <>
      <PageHeader
        title="Destinations"
        subtitle="Where people are provisioned: a Thinkific site, a SCIM app, or your own webhook."
        actions={
          <Link className="button secondary" to={`/admin/o/${org}/rules`}>
            Rules
          </Link>
        }
      />
      {created ? (
        <section className="card" aria-labelledby="created-title">
          <h2 id="created-title">{created.name} is ready</h2>
          {created.generatedSecret ? (
            <div className="secret-once" role="alert">
              <strong>Copy this signing secret now: it is shown only once.</strong>
              <CopyField label="Webhook signing secret" value={created.generatedSecret} secret />
            </div>
          ) : null}
          <div className="actions">
            <Link className="button primary" to={`/admin/o/${org}/destinations/${created.id}`}>
              Open destination
            </Link>
            <button type="button" className="secondary" onClick={() => setCreated(undefined)}>
              Done
            </button>
          </div>
        </section>
      ) : null}
      {can(session, 'admin') && !created ? (
        <form className="card form" onSubmit={submit} aria-label="New destination">
          <h2>New destination</h2>
          <div className="grid2">
            <Field label="Kind" htmlFor="dest-kind">
              <select
                id="dest-kind"
                {...form.register('kind', { onChange: () => form.setValue('values', {}) })}
              >
                {Object.entries(KINDS).map(([key, label]) => (
                  <option key={key} value={key}>
                    {label}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Name" htmlFor="dest-name">
              <input id="dest-name" {...form.register('name')} placeholder={KINDS[kind]} />
            </Field>
          </div>
          <KindFields kind={kind} register={(name) => form.register(name)} editing={false} />
          <ErrorBox error={create.error} />
          <div className="actions">
            <Button type="submit" className="primary" busy={create.isPending} busyLabel="Creating…">
              Create destination
            </Button>
          </div>
        </form>
      ) : null}
      <Loader state={list} label="Loading destinations…">
        {(page) =>
          page.data.length === 0 ? (
            <Empty title="No destination yet.">Add one, then write rules that say who gets what there.</Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Kind</th>
                    <th>Status</th>
                    <th>Updated</th>
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((d) => (
                    <tr key={d.id}>
                      <td>
                        <Link to={`/admin/o/${org}/destinations/${d.id}`}>{d.name}</Link>
                      </td>
                      <td>{KINDS[d.kind]}</td>
                      <td>
                        <Badge tone={d.enabled ? 'ok' : 'neutral'}>
                          {d.enabled ? 'enabled' : 'disabled'}
                        </Badge>
                      </td>
                      <td>{when(d.updatedAt)}</td>
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
