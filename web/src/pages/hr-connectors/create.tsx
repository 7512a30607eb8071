/** A new HR connector (or directory pull) from its connector's guided fields. */
import { zodResolver } from '@hookform/resolvers/zod';
import { useMemo } from 'react';
import { useForm } from 'react-hook-form';
import { z } from 'zod/mini';
import { client, unwrap } from '../../api/client.ts';
import { useApiMutation } from '../../api/queries.ts';
import type { Schemas } from '../../api/types.ts';
import { SchemaFields } from '../../components/schema-fields.tsx';
import { Button, ErrorBox, Field } from '../../components/ui.tsx';
import { formProblem } from '../../forms.ts';
import {
  type CredentialVariant,
  collectValues,
  credentialVariants,
  FormValueError,
  fieldsOf,
} from '../../schema-form.ts';
import { type HrConnector, type HrDirectory, INTERVALS, schemaOf } from './shared.ts';
import { SignInMethod } from './sign-in-method.tsx';

const formValues = z.record(z.string(), z.union([z.string(), z.boolean()]));
const newConnectorForm = z.object({
  provider: z.string(),
  name: z.string(),
  config: formValues,
  secrets: formValues,
  variantType: z.string(),
  interval: z.string(),
  joiners: z.enum(['list', 'create']),
  leavers: z.enum(['deactivate', 'ignore']),
});
type NewConnectorForm = z.infer<typeof newConnectorForm>;

/** The connector's guided fields, the chosen sign-in method among them. */
function guidedFields(connector: HrConnector | undefined, variantType: string) {
  const variants = credentialVariants(connector ? schemaOf(connector.credentials) : undefined);
  const variant: CredentialVariant | undefined = variants.find((v) => v.type === variantType) ?? variants[0];
  const configSpecs = fieldsOf(connector ? schemaOf(connector.config) : undefined, { secret: false });
  return { variants, variant, configSpecs };
}

export function NewHrConnectorForm({
  org,
  connectors,
  onCreated,
  onCancel,
}: {
  org: string;
  connectors: HrConnector[];
  onCreated: (directory: HrDirectory) => void;
  onCancel: () => void;
}) {
  // Every required secret, then every required setting, is checked before anything is sent.
  const schema = useMemo(
    () =>
      newConnectorForm.check(
        z.superRefine((values, context) => {
          const connector = connectors.find((c) => c.provider === values.provider);
          const { variant, configSpecs } = guidedFields(connector, values.variantType);
          if (!connector || !variant) return;
          try {
            collectValues(variant.fields, values.secrets, { requireAll: true });
            collectValues(configSpecs, values.config, { requireAll: true });
          } catch (error) {
            if (!(error instanceof FormValueError)) throw error;
            const part = configSpecs.some((s) => s.key === error.field) ? 'config' : 'credentials';
            context.addIssue({ code: 'custom', path: [part, error.field], message: error.message });
          }
        }),
      ),
    [connectors],
  );
  const form = useForm<NewConnectorForm>({
    resolver: zodResolver(schema),
    reValidateMode: 'onSubmit',
    defaultValues: {
      provider: connectors[0]?.provider ?? '',
      name: '',
      config: {},
      secrets: {},
      variantType: '',
      interval: '60',
      joiners: 'list',
      leavers: 'deactivate',
    },
  });
  const [provider, variantType, config, secrets] = form.watch([
    'provider',
    'variantType',
    'config',
    'secrets',
  ]);
  const connector = connectors.find((c) => c.provider === provider);
  const { variants, variant, configSpecs } = useMemo(
    () => guidedFields(connector, variantType),
    [connector, variantType],
  );
  const create = useApiMutation(
    (body: Schemas['CreateHrisDirectoryInput']) =>
      unwrap(
        client.POST('/api/v1/organizations/{org}/hris/directories', { params: { path: { org } }, body }),
      ),
    {
      onSuccess: (result) => {
        form.setValue('secrets', {});
        onCreated(result);
      },
    },
  );
  const submit = form.handleSubmit(
    (values) => {
      if (!connector || !variant) return;
      const credentials = collectValues(variant.fields, values.secrets, { requireAll: true });
      create.mutate({
        name: values.name.trim() || connector.displayName,
        kind: connector.kinds.includes('hris') ? 'hris' : 'directory',
        provider: values.provider,
        config: collectValues(configSpecs, values.config, { requireAll: true }),
        credentials: variant.type ? { type: variant.type, ...credentials } : credentials,
        schedule: { intervalMinutes: values.interval ? Number(values.interval) : null },
        joiners: values.joiners,
        leavers: values.leavers,
      });
    },
    () => create.reset(),
  );
  const problem = formProblem(form.formState.errors, {
    code: 'invalid_input',
    fix: 'Fill it in and submit again.',
  });
  const hrSystems = connectors.filter((c) => c.kinds.includes('hris'));
  const directories = connectors.filter((c) => !c.kinds.includes('hris'));
  const invalid = (create.error ?? problem)?.field;
  return (
    <form className="form" onSubmit={submit} aria-label="New HR connector">
      <h3>New HR connector</h3>
      <div className="grid2">
        <Field
          label="HR system"
          htmlFor="hr-provider"
          hint={
            connector
              ? `Signs in with ${connector.auth.mode.replaceAll('_', ' ')}; ${connector.incremental.supported ? 'reads only changes between full syncs' : 'reads everyone on every sync'}.`
              : undefined
          }
        >
          <select
            id="hr-provider"
            {...form.register('provider', {
              onChange: () => {
                form.setValue('config', {});
                form.setValue('secrets', {});
                form.setValue('variantType', '');
              },
            })}
          >
            <optgroup label="HR systems">
              {hrSystems.map((c) => (
                <option key={c.provider} value={c.provider}>
                  {c.displayName}
                </option>
              ))}
            </optgroup>
            <optgroup label="Directories">
              {directories.map((c) => (
                <option key={c.provider} value={c.provider}>
                  {c.displayName}
                </option>
              ))}
            </optgroup>
          </select>
        </Field>
        <Field label="Connector name" htmlFor="hr-name">
          <input id="hr-name" {...form.register('name')} placeholder={connector?.displayName} />
        </Field>
      </div>
      {configSpecs.length ? (
        <fieldset>
          <legend>Settings</legend>
          <SchemaFields
            idPrefix="hr-config"
            specs={configSpecs}
            values={config}
            editing={false}
            invalidField={invalid?.replace(/^config\./, '')}
            onChange={(key, value) => form.setValue(`config.${key}`, value)}
          />
        </fieldset>
      ) : null}
      <fieldset>
        <legend>Credentials</legend>
        <p className="muted small">Stored encrypted; never shown again, not even to you.</p>
        <SignInMethod
          id="hr-auth"
          variants={variants}
          value={variant?.type ?? ''}
          onChange={(type) => {
            form.setValue('variantType', type);
            form.setValue('secrets', {});
          }}
        />
        {variant ? (
          <SchemaFields
            idPrefix="hr-secret"
            specs={variant.fields}
            values={secrets}
            editing={false}
            invalidField={invalid?.replace(/^credentials\./, '')}
            onChange={(key, value) => form.setValue(`secrets.${key}`, value)}
          />
        ) : null}
      </fieldset>
      <div className="grid2">
        <Field label="Sync schedule" htmlFor="hr-interval" hint="You can always sync on demand too.">
          <select id="hr-interval" {...form.register('interval')}>
            {INTERVALS.map((item) => (
              <option key={item.value} value={item.value}>
                {item.label}
              </option>
            ))}
          </select>
        </Field>
        <Field
          label="People no user matches"
          htmlFor="hr-joiners"
          hint="Pre-hires (onboarding) get their user on their start date, not before."
        >
          <select id="hr-joiners" {...form.register('joiners')}>
            <option value="list">list them for review</option>
            <option value="create">create a user for each (with a work email)</option>
          </select>
        </Field>
        <Field label="Leavers" htmlFor="hr-leavers">
          <select id="hr-leavers" {...form.register('leavers')}>
            <option value="deactivate">deprovision them (provisioning removes access)</option>
            <option value="ignore">only update their HR profile</option>
          </select>
        </Field>
      </div>
      <ErrorBox error={problem ?? create.error} />
      <div className="actions">
        <Button type="submit" className="primary" busy={create.isPending} busyLabel="Creating…">
          Create HR connector
        </Button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
