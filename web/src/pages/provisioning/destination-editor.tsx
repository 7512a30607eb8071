/** A destination's settings: name, enabled, its kind's settings and write-only credentials, policies. */
import { zodResolver } from '@hookform/resolvers/zod';
import { useForm } from 'react-hook-form';
import { z } from 'zod/mini';
import { client, unwrap } from '../../api/client.ts';
import { useApiMutation } from '../../api/queries.ts';
import type { Schemas } from '../../api/types.ts';
import { Button, ErrorBox, Field } from '../../components/ui.tsx';
import { type Destination, KindFields, REMOVAL_ACTIONS, splitValues } from './kinds.tsx';

const editorForm = z.object({
  name: z.string(),
  enabled: z.boolean(),
  values: z.record(z.string(), z.string()),
  drift: z.enum(['restore', 'report']),
  grace: z.string(),
  onRemoval: z.array(z.enum(['expire_enrollments', 'remove_from_groups', 'suspend', 'delete'])),
});
type EditorForm = z.infer<typeof editorForm>;

function initialValues(d: Destination): Record<string, string> {
  return Object.fromEntries(
    Object.entries(d.settings)
      .filter(([, value]) => typeof value === 'string')
      .map(([key, value]) => [key, value as string]),
  );
}

export function DestinationEditor({
  org,
  destination: d,
  onSaved,
}: {
  org: string;
  destination: Destination;
  onSaved: () => void;
}) {
  const form = useForm<EditorForm>({
    resolver: zodResolver(editorForm),
    defaultValues: {
      name: d.name,
      enabled: d.enabled,
      values: initialValues(d),
      drift: d.policy.drift,
      grace: String(d.policy.graceSeconds),
      onRemoval: d.policy.onRemoval,
    },
  });
  const save = useApiMutation(
    (body: Schemas['UpdateDestinationInput']) =>
      unwrap(
        client.PATCH('/api/v1/organizations/{org}/destinations/{id}', {
          params: { path: { org, id: d.id } },
          body,
        }),
      ),
    { onSuccess: onSaved },
  );
  const submit = form.handleSubmit(({ name, enabled, values, drift, grace, onRemoval }) => {
    const { settings, credentials } = splitValues(d.kind, values);
    save.mutate({
      name,
      enabled,
      settings,
      // Credentials are write-only: sent only when a new value was typed.
      ...(Object.keys(credentials).length > 0 ? { credentials } : {}),
      policy: { ...d.policy, onRemoval, drift, graceSeconds: Number(grace) },
    });
  });
  return (
    <form className="card form" aria-label="Edit destination" onSubmit={submit}>
      <h2>Settings</h2>
      <div className="grid2">
        <Field label="Name" htmlFor="dest-edit-name">
          <input id="dest-edit-name" {...form.register('name')} />
        </Field>
        <div className="field checkbox">
          <label>
            <input type="checkbox" {...form.register('enabled')} /> Enabled
          </label>
        </div>
      </div>
      <KindFields kind={d.kind} register={(name) => form.register(name)} editing />
      <div className="muted small">
        Credentials set: {Object.keys(d.credentials).join(', ') || 'none'} (write-only: type a new value to
        replace it).
      </div>
      <div className="grid2">
        <Field label="When someone changes it by hand" htmlFor="dest-drift">
          <select id="dest-drift" {...form.register('drift')}>
            <option value="restore">restore it</option>
            <option value="report">only report it</option>
          </select>
        </Field>
        <Field label="Grace before removals (seconds)" htmlFor="dest-grace">
          <input id="dest-grace" type="number" min={0} {...form.register('grace')} />
        </Field>
      </div>
      <fieldset>
        <legend>When someone no longer qualifies</legend>
        {Object.entries(REMOVAL_ACTIONS).map(([key, label]) => (
          <div className="field checkbox" key={key}>
            <label>
              <input type="checkbox" value={key} {...form.register('onRemoval')} /> {label}
            </label>
          </div>
        ))}
      </fieldset>
      <ErrorBox error={save.error} />
      <div className="actions">
        <Button type="submit" className="primary" busy={save.isPending} busyLabel="Saving…">
          Save destination
        </Button>
      </div>
    </form>
  );
}
