/** An HR connector's settings: name, status, its connector's settings, credentials, schedule, policies. */
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
  collectValues,
  credentialVariants,
  FormValueError,
  type FormValues,
  fieldsOf,
  valuesFromConfig,
} from '../../schema-form.ts';
import { type HrConnector, type HrDirectory, INTERVALS, schemaOf } from './shared.ts';
import { SignInMethod } from './sign-in-method.tsx';

const formValues = z.record(z.string(), z.union([z.string(), z.boolean()]));
const settingsForm = z.object({
  name: z.string(),
  status: z.enum(['active', 'disabled']),
  config: formValues,
  secrets: formValues,
  variantType: z.string(),
  interval: z.string(),
  fullEvery: z.string(),
  joiners: z.enum(['list', 'create']),
  leavers: z.enum(['deactivate', 'ignore']),
  deletionPercent: z.string(),
});
type SettingsForm = z.infer<typeof settingsForm>;

/** Secrets are write-only: typing any replaces them all. */
function typedSecrets(secrets: FormValues): boolean {
  return Object.values(secrets).some((value) => typeof value === 'string' && value.trim());
}

export function HrDirectoryEditor({
  org,
  directory: d,
  connector,
  admin,
  onSaved,
}: {
  org: string;
  directory: HrDirectory;
  connector: HrConnector;
  admin: boolean;
  onSaved: () => void;
}) {
  const configSpecs = useMemo(() => fieldsOf(schemaOf(connector.config), { secret: false }), [connector]);
  const variants = useMemo(() => credentialVariants(schemaOf(connector.credentials)), [connector]);
  const variantOf = (type: string) => variants.find((v) => v.type === type) ?? variants[0];
  // Every required setting; secrets only when some were typed, then every one of the method chosen.
  const schema = useMemo(
    () =>
      settingsForm.check(
        z.superRefine((values, context) => {
          const variant = variants.find((v) => v.type === values.variantType) ?? variants[0];
          try {
            collectValues(configSpecs, values.config, { requireAll: true });
            if (typedSecrets(values.secrets) && variant)
              collectValues(variant.fields, values.secrets, { requireAll: true });
          } catch (error) {
            if (!(error instanceof FormValueError)) throw error;
            const part = configSpecs.some((s) => s.key === error.field) ? 'config' : 'credentials';
            context.addIssue({ code: 'custom', path: [part, error.field], message: error.message });
          }
        }),
      ),
    [configSpecs, variants],
  );
  const form = useForm<SettingsForm>({
    resolver: zodResolver(schema),
    reValidateMode: 'onSubmit',
    defaultValues: {
      name: d.name,
      status: d.status,
      config: valuesFromConfig(configSpecs, d.config),
      secrets: {},
      variantType: variants[0]?.type ?? '',
      interval: d.schedule.intervalMinutes === null ? '' : String(d.schedule.intervalMinutes),
      fullEvery: String(d.schedule.fullSyncEveryHours),
      joiners: d.joiners,
      leavers: d.leavers,
      deletionPercent: String(Math.round(d.maxDeletionRatio * 100)),
    },
  });
  const [config, secrets, variantType, interval] = form.watch([
    'config',
    'secrets',
    'variantType',
    'interval',
  ]);
  const variant = variantOf(variantType);
  const save = useApiMutation(
    (body: Schemas['UpdateHrisDirectoryInput']) =>
      unwrap(
        client.PATCH('/api/v1/organizations/{org}/hris/directories/{id}', {
          params: { path: { org, id: d.id } },
          body,
        }),
      ),
    {
      onSuccess: () => {
        form.setValue('secrets', {});
        onSaved();
      },
    },
  );
  const intervals = INTERVALS.some((item) => item.value === interval)
    ? INTERVALS
    : [...INTERVALS, { value: interval, label: `every ${interval} minutes` }];
  const submit = form.handleSubmit(
    (values) => {
      const body: Schemas['UpdateHrisDirectoryInput'] = {
        name: values.name,
        status: values.status,
        config: collectValues(configSpecs, values.config, { requireAll: true }),
        schedule: {
          intervalMinutes: values.interval ? Number(values.interval) : null,
          fullSyncEveryHours: Number(values.fullEvery),
        },
        joiners: values.joiners,
        leavers: values.leavers,
        maxDeletionRatio: Number(values.deletionPercent) / 100,
      };
      const chosen = variantOf(values.variantType);
      if (typedSecrets(values.secrets) && chosen) {
        // Secrets are replaced whole: every one of the chosen method is needed.
        const credentials = collectValues(chosen.fields, values.secrets, { requireAll: true });
        body.credentials = chosen.type ? { type: chosen.type, ...credentials } : credentials;
      }
      save.mutate(body);
    },
    () => save.reset(),
  );
  const problem = formProblem(form.formState.errors, {
    code: 'invalid_input',
    fix: 'Fill it in and submit again.',
  });
  const invalid = (save.error ?? problem)?.field;
  return (
    <form className="card form" aria-label="Connector settings" onSubmit={submit}>
      <h2>Settings</h2>
      <fieldset disabled={!admin}>
        <legend>Connector</legend>
        <div className="grid2">
          <Field label="Connector name" htmlFor="hr-edit-name">
            <input id="hr-edit-name" {...form.register('name')} />
          </Field>
          <Field label="Status" htmlFor="hr-edit-status" hint="A disabled connector is not synced.">
            <select id="hr-edit-status" {...form.register('status')}>
              <option value="active">active</option>
              <option value="disabled">disabled</option>
            </select>
          </Field>
        </div>
        <SchemaFields
          idPrefix="hr-config"
          specs={configSpecs}
          values={config}
          editing
          invalidField={invalid?.replace(/^config\./, '')}
          onChange={(key, value) => form.setValue(`config.${key}`, value)}
        />
      </fieldset>
      <fieldset disabled={!admin}>
        <legend>Credentials</legend>
        <p className="muted small">
          Stored: {d.credentials.keys.filter((key) => key !== 'type').join(', ') || 'none'} (write-only: type
          new values to replace them all).
        </p>
        <SignInMethod
          id="hr-edit-auth"
          variants={variants}
          value={variant?.type ?? ''}
          onChange={(type) => {
            form.setValue('variantType', type);
            form.setValue('secrets', {});
          }}
        />
        {variant && admin ? (
          <SchemaFields
            idPrefix="hr-secret"
            specs={variant.fields}
            values={secrets}
            editing
            invalidField={invalid?.replace(/^credentials\./, '')}
            onChange={(key, value) => form.setValue(`secrets.${key}`, value)}
          />
        ) : null}
      </fieldset>
      <fieldset disabled={!admin}>
        <legend>Schedule and policies</legend>
        <div className="grid2">
          <Field label="Sync schedule" htmlFor="hr-edit-interval">
            <select id="hr-edit-interval" {...form.register('interval')}>
              {intervals.map((item) => (
                <option key={item.value} value={item.value}>
                  {item.label}
                </option>
              ))}
            </select>
          </Field>
          {connector.incremental.supported ? (
            <Field
              label="Full sync every (hours)"
              htmlFor="hr-edit-full"
              hint={
                connector.incremental.signalsDeletions
                  ? 'Between full syncs only changes are read.'
                  : 'Only full syncs notice people removed from the source.'
              }
            >
              <input id="hr-edit-full" type="number" min={1} max={720} {...form.register('fullEvery')} />
            </Field>
          ) : null}
          <Field
            label="People no user matches"
            htmlFor="hr-edit-joiners"
            hint="Pre-hires (onboarding) get their user on their start date, not before."
          >
            <select id="hr-edit-joiners" {...form.register('joiners')}>
              <option value="list">list them for review</option>
              <option value="create">create a user for each (with a work email)</option>
            </select>
          </Field>
          <Field label="Leavers" htmlFor="hr-edit-leavers">
            <select id="hr-edit-leavers" {...form.register('leavers')}>
              <option value="deactivate">deprovision them (provisioning removes access)</option>
              <option value="ignore">only update their HR profile</option>
            </select>
          </Field>
          <Field
            label="Stop a full sync that would remove more than (%)"
            htmlFor="hr-edit-deletions"
            hint="An emptied report or a lost permission is not a mass leave (applies above 10 people)."
          >
            <input
              id="hr-edit-deletions"
              type="number"
              min={0}
              max={100}
              {...form.register('deletionPercent')}
            />
          </Field>
        </div>
      </fieldset>
      <ErrorBox error={problem ?? save.error} />
      {admin ? (
        <div className="actions">
          <Button type="submit" className="primary" busy={save.isPending} busyLabel="Saving…">
            Save settings
          </Button>
          {save.isSuccess ? (
            <span className="ok-text" role="status">
              Settings saved.
            </span>
          ) : null}
        </div>
      ) : null}
    </form>
  );
}
