/** An organization's policies (JIT, account linking, SCIM delete), environment, region and app instances. */
import { zodResolver } from '@hookform/resolvers/zod';
import { useForm } from 'react-hook-form';
import { z } from 'zod/mini';
import { client, unwrap } from '../../api/client.ts';
import { useApiMutation } from '../../api/queries.ts';
import type { Schemas } from '../../api/types.ts';
import { Button, ErrorBox, Field } from '../../components/ui.tsx';
import { formProblem } from '../../forms.ts';

type Organization = Schemas['Organization'];

const policiesForm = z.object({
  jitProvisioning: z.enum(['on', 'off']),
  jitEmailDomains: z.enum(['any', 'verified_domains']),
  accountLinking: z.enum(['never', 'verified_domain', 'any_email']),
  scimDelete: z.enum(['deprovision', 'remove']),
  environment: z.enum(['production', 'sandbox']),
  region: z.string(),
  instances: z.pipe(
    z.string(),
    z.transform((text: string, payload): Record<string, string> => {
      try {
        return JSON.parse(text || '{}');
      } catch {
        payload.issues.push({
          code: 'custom',
          message: 'Instances must be a JSON object such as {"coaching": "https://acme.example.com"}.',
          input: text,
        });
        return z.NEVER;
      }
    }),
  ),
});

export function Policies({
  org,
  reload,
  canEdit,
}: {
  org: Organization;
  reload: () => void;
  canEdit: boolean;
}) {
  const form = useForm<z.input<typeof policiesForm>, unknown, z.output<typeof policiesForm>>({
    resolver: zodResolver(policiesForm),
    reValidateMode: 'onSubmit',
    defaultValues: {
      ...org.policies,
      jitProvisioning: org.policies.jitProvisioning ? 'on' : 'off',
      environment: org.environment,
      region: org.region,
      instances: JSON.stringify(org.instances, null, 2),
    },
  });
  const save = useApiMutation(
    (body: Schemas['UpdateOrganizationInput']) =>
      unwrap(client.PATCH('/api/v1/organizations/{org}', { params: { path: { org: org.id } }, body })),
    { onSuccess: reload },
  );
  const problem = formProblem(form.formState.errors, { code: 'client_error', field: () => undefined });
  const submit = form.handleSubmit(
    ({ jitProvisioning, environment, region, instances, ...policies }) =>
      save.mutate({
        policies: { ...policies, jitProvisioning: jitProvisioning === 'on' },
        environment,
        region,
        instances,
      }),
    () => save.reset(),
  );
  return (
    <form className="card form" aria-labelledby="policies-title" onSubmit={submit}>
      <h2 id="policies-title">Policies, environment and instances</h2>
      <fieldset disabled={!canEdit}>
        <div className="grid2">
          <Field
            label="Just-in-time provisioning"
            htmlFor="pol-jit"
            hint="Create a user at their first SSO login."
          >
            <select id="pol-jit" {...form.register('jitProvisioning')}>
              <option value="on">On</option>
              <option value="off">Off</option>
            </select>
          </Field>
          <Field
            label="JIT email domains"
            htmlFor="pol-jit-domains"
            hint="Which emails just-in-time provisioning may create users for."
          >
            <select id="pol-jit-domains" {...form.register('jitEmailDomains')}>
              <option value="any">Any email the IdP sends</option>
              <option value="verified_domains">Only on verified domains</option>
            </select>
          </Field>
          <Field
            label="Account linking"
            htmlFor="pol-link"
            hint="When an SSO identity arrives with an existing user's email."
          >
            <select id="pol-link" {...form.register('accountLinking')}>
              <option value="verified_domain">Only on verified domains</option>
              <option value="any_email">Any email</option>
              <option value="never">Never</option>
            </select>
          </Field>
          <Field label="SCIM delete" htmlFor="pol-scim" hint="What a SCIM DELETE does.">
            <select id="pol-scim" {...form.register('scimDelete')}>
              <option value="deprovision">Keep as deprovisioned</option>
              <option value="remove">Remove entirely</option>
            </select>
          </Field>
          <Field label="Environment" htmlFor="pol-env">
            <select id="pol-env" {...form.register('environment')}>
              <option value="sandbox">Sandbox</option>
              <option value="production">Production</option>
            </select>
          </Field>
          <Field label="Data region" htmlFor="pol-region">
            <input id="pol-region" {...form.register('region')} />
          </Field>
          <Field
            label="App instances (JSON)"
            htmlFor="pol-inst"
            hint='Application key → base URL, e.g. {"coaching": "https://acme.example.com"}'
          >
            <textarea id="pol-inst" rows={3} className="mono" {...form.register('instances')} />
          </Field>
        </div>
      </fieldset>
      <ErrorBox error={problem ?? save.error} />
      {save.isSuccess ? (
        <div className="ok-text" role="status">
          Saved.
        </div>
      ) : null}
      {canEdit ? (
        <div className="actions">
          <Button type="submit" className="primary" busy={save.isPending} busyLabel="Saving…">
            Save settings
          </Button>
        </div>
      ) : null}
    </form>
  );
}
