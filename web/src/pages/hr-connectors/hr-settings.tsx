/** The organization's HR settings: how HR records find their users, what the context API may return. */
import { zodResolver } from '@hookform/resolvers/zod';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useForm } from 'react-hook-form';
import { z } from 'zod/mini';
import { client, unwrap } from '../../api/client.ts';
import { apiQuery, invalidate, useApiMutation } from '../../api/queries.ts';
import { can } from '../../api/session.ts';
import type { Schemas } from '../../api/types.ts';
import type { PageProps } from '../../app.tsx';
import { Button, ErrorBox, Field, Loader, PageHeader } from '../../components/ui.tsx';
import { formProblem } from '../../forms.ts';
import { bandsToText, CANONICAL_FIELDS, CONTEXT_FACTS, parseBands } from '../../hr-forms.ts';
import { Link } from '../../router.tsx';
import { FormValueError, humanize } from '../../schema-form.ts';

const MATCH_KEYS = { employeeId: 'Employee id', workEmail: 'Work email' } as const;

const hrSettingsForm = z.object({
  first: z.enum(['employeeId', 'workEmail']),
  second: z.enum(['', 'employeeId', 'workEmail']),
  allowed: z.array(z.string()),
  customFields: z.string(),
  newInRole: z.string(),
  /** `senior: L5, L6` per line; a line that does not read so is named (hr-forms.ts parseBands). */
  bands: z.pipe(
    z.string(),
    z.transform((text: string, payload) => {
      try {
        return parseBands(text);
      } catch (error) {
        if (!(error instanceof FormValueError)) throw error;
        payload.issues.push({ code: 'custom', message: error.message, input: text });
        return z.NEVER;
      }
    }),
  ),
});

export function HrSettingsPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const queryClient = useQueryClient();
  const settings = useQuery(
    apiQuery('/api/v1/organizations/{org}/hris/settings', { params: { path: { org } } }),
  );
  return (
    <>
      <PageHeader
        title="HR settings"
        subtitle="How HR records find their users, and what the coaching context API may tell applications."
        actions={
          <Link className="button secondary" to={`/admin/o/${org}/directories`}>
            Directories
          </Link>
        }
      />
      <Loader state={settings} label="Loading HR settings…">
        {(current) => (
          <HrSettingsEditor
            org={org}
            current={current}
            admin={can(session, 'admin')}
            onSaved={() => void invalidate(queryClient, '/api/v1/organizations/{org}/hris/settings')}
          />
        )}
      </Loader>
    </>
  );
}

function HrSettingsEditor({
  org,
  current,
  admin,
  onSaved,
}: {
  org: string;
  current: Schemas['HrisSettings'];
  admin: boolean;
  onSaved: () => void;
}) {
  const known = new Set<string>([...CANONICAL_FIELDS, ...CONTEXT_FACTS]);
  const form = useForm<z.input<typeof hrSettingsForm>, unknown, z.output<typeof hrSettingsForm>>({
    resolver: zodResolver(hrSettingsForm),
    reValidateMode: 'onSubmit',
    defaultValues: {
      first: current.matchBy[0] ?? 'employeeId',
      second: current.matchBy[1] ?? '',
      allowed: current.contextFields.filter((field) => known.has(field)),
      customFields: current.contextFields
        .filter((field) => field.startsWith('custom.'))
        .map((field) => field.slice('custom.'.length))
        .join(', '),
      newInRole: String(current.newInRoleDays),
      bands: bandsToText(current.levelBands),
    },
  });
  const first = form.watch('first');
  const save = useApiMutation(
    (body: Schemas['HrisSettingsUpdateInput']) =>
      unwrap(client.PATCH('/api/v1/organizations/{org}/hris/settings', { params: { path: { org } }, body })),
    { onSuccess: onSaved },
  );
  /** An edit: "HR settings saved." no longer holds. */
  const edited = { onChange: () => save.reset() };
  const submit = form.handleSubmit(
    ({ first, second, allowed, customFields, newInRole, bands }) => {
      const custom = customFields
        .split(/[,\s]+/)
        .map((name) => name.trim().replace(/^custom\./, ''))
        .filter(Boolean)
        .map((name) => `custom.${name}`);
      save.mutate({
        matchBy: second && second !== first ? [first, second] : [first],
        contextFields: [
          ...[...CANONICAL_FIELDS, ...CONTEXT_FACTS].filter((field) => allowed.includes(field)),
          ...custom,
        ],
        newInRoleDays: Number(newInRole),
        levelBands: bands,
      });
    },
    () => save.reset(),
  );
  const problem = formProblem(form.formState.errors, {
    code: 'invalid_input',
    field: () => 'levelBands',
    fix: 'Correct the line and save again.',
  });
  const checkboxes = (fields: readonly string[]) => (
    <div className="check-grid">
      {fields.map((field) => (
        <div className="field checkbox" key={field}>
          <label>
            <input type="checkbox" value={field} {...form.register('allowed', edited)} /> {humanize(field)}
          </label>
        </div>
      ))}
    </div>
  );
  return (
    <form className="card form" aria-label="HR settings" onSubmit={submit}>
      <fieldset disabled={!admin}>
        <legend>Matching HR records to users</legend>
        <p className="muted small">
          Each HR record is matched to an existing user by these keys, in order. A key that finds several
          users makes the record ambiguous, to review on the connector's page.
        </p>
        <div className="grid2">
          <Field label="Match first by" htmlFor="match-first">
            <select
              id="match-first"
              {...form.register('first', {
                onChange: (e) => {
                  if (form.getValues('second') === e.target.value) form.setValue('second', '');
                  save.reset();
                },
              })}
            >
              {Object.entries(MATCH_KEYS).map(([key, label]) => (
                <option key={key} value={key}>
                  {label}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Then by" htmlFor="match-second">
            <select id="match-second" {...form.register('second', edited)}>
              <option value="">nothing else</option>
              {Object.entries(MATCH_KEYS)
                .filter(([key]) => key !== first)
                .map(([key, label]) => (
                  <option key={key} value={key}>
                    {label}
                  </option>
                ))}
            </select>
          </Field>
        </div>
      </fieldset>
      <fieldset disabled={!admin}>
        <legend>Coaching context: what applications may read</legend>
        <p className="muted small">
          The context API (GET /api/v1/users/:id/context) returns only what is ticked here. Nothing else
          leaves Switchboard.
        </p>
        <h3>HR fields</h3>
        {checkboxes(CANONICAL_FIELDS)}
        <h3>Derived facts</h3>
        {checkboxes(CONTEXT_FACTS)}
        <div className="grid2">
          <Field
            label="Custom attributes"
            htmlFor="context-custom"
            hint="Names of custom attributes to allow, separated by commas (e.g. shirtSize)."
          >
            <input id="context-custom" {...form.register('customFields', edited)} />
          </Field>
          <Field label="New in role: promoted within (days)" htmlFor="new-in-role">
            <input id="new-in-role" type="number" min={1} max={3650} {...form.register('newInRole')} />
          </Field>
        </div>
        <Field label="Level bands" htmlFor="level-bands" hint='One band a line: "senior: L5, L6".'>
          <textarea id="level-bands" rows={4} {...form.register('bands')} />
        </Field>
      </fieldset>
      <ErrorBox error={problem ?? save.error} />
      {admin ? (
        <div className="actions">
          <Button type="submit" className="primary" busy={save.isPending} busyLabel="Saving…">
            Save HR settings
          </Button>
          {save.isSuccess ? (
            <span className="ok-text" role="status">
              HR settings saved.
            </span>
          ) : null}
        </div>
      ) : (
        <p className="muted small">Your role can read these settings; admins change them.</p>
      )}
    </form>
  );
}
