/** A new organization; a changed slug or a name like another's is said before moving on. */
import { zodResolver } from '@hookform/resolvers/zod';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { z } from 'zod/mini';
import { client, unwrap } from '../../api/client.ts';
import { useApiMutation } from '../../api/queries.ts';
import type { Schemas } from '../../api/types.ts';
import { Button, ErrorBox, Field } from '../../components/ui.tsx';
import { Link, navigate } from '../../router.tsx';

const organizationForm = z.object({
  name: z.string(),
  slug: z.string(),
  domains: z.string(),
  environment: z.enum(['production', 'sandbox']),
  region: z.string(),
});
type OrganizationForm = z.infer<typeof organizationForm>;

export function CreateOrganization({ onCancel }: { onCancel: () => void }) {
  const [created, setCreated] = useState<Schemas['OrganizationCreated'] | undefined>();
  const form = useForm<OrganizationForm>({
    resolver: zodResolver(organizationForm),
    defaultValues: { name: '', slug: '', domains: '', environment: 'sandbox', region: '' },
  });
  const create = useApiMutation(
    (body: Schemas['CreateOrganizationInput']) => unwrap(client.POST('/api/v1/organizations', { body })),
    {
      onSuccess: (org) => {
        // A changed slug or a similar name is said before moving on: two "Acme" are easy to confuse.
        if (org.warnings?.length) setCreated(org);
        else navigate(`/admin/o/${org.slug}/settings`);
      },
    },
  );
  const submit = form.handleSubmit(({ name, slug, domains, environment, region }) =>
    create.mutate({
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
          <input id="org-name" required {...form.register('name')} />
        </Field>
        <Field
          label="Slug"
          htmlFor="org-slug"
          hint="Lowercase letters, digits and hyphens; derived from the name when empty."
        >
          <input id="org-slug" {...form.register('slug')} placeholder="acme-corp" />
        </Field>
        <Field
          label="Email domains"
          htmlFor="org-domains"
          hint="Comma-separated, e.g. acme.com, acme.co.uk. Verified later through DNS."
        >
          <input id="org-domains" {...form.register('domains')} />
        </Field>
        <Field
          label="Environment"
          htmlFor="org-env"
          hint="Sandbox organizations may use the built-in test IdP."
        >
          <select id="org-env" {...form.register('environment')}>
            <option value="sandbox">Sandbox</option>
            <option value="production">Production</option>
          </select>
        </Field>
        <Field label="Data region" htmlFor="org-region" hint="Optional label such as eu or us.">
          <input id="org-region" {...form.register('region')} />
        </Field>
      </div>
      <ErrorBox error={create.error} />
      <div className="actions">
        <Button type="submit" className="primary" busy={create.isPending} busyLabel="Creating…">
          Create organization
        </Button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
