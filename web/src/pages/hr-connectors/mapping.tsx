/** A connector's field mapping: source field → Switchboard field, custom attributes, preview, save. */
import { useQuery } from '@tanstack/react-query';
import { useFieldArray, useForm } from 'react-hook-form';
import { client, unwrap } from '../../api/client.ts';
import { apiQuery, useApiMutation } from '../../api/queries.ts';
import { Badge, Button, ErrorBox, Field } from '../../components/ui.tsx';
import { attributeNameFor, CANONICAL_FIELDS, mappingOverrides } from '../../hr-forms.ts';
import { humanize } from '../../schema-form.ts';
import { MappingPreview } from './mapping-preview.tsx';
import type { HrConnector, HrDirectory } from './shared.ts';

/** As typed: a source field per canonical field (empty: not read), and custom attribute rows. */
interface MappingForm {
  fields: Record<string, string>;
  custom: Array<{ name: string; source: string }>;
}

export function MappingEditor({
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
  const path = { params: { path: { org, id: d.id } } };
  const sourceFields = useQuery(
    apiQuery('/api/v1/organizations/{org}/hris/directories/{id}/source-fields', path),
  );
  const form = useForm<MappingForm>({
    defaultValues: {
      fields: Object.fromEntries(
        CANONICAL_FIELDS.map((field) => [field, d.effectiveMapping.fields[field] ?? '']),
      ),
      custom: Object.entries(d.effectiveMapping.custom).map(([name, source]) => ({ name, source })),
    },
  });
  const custom = useFieldArray({ control: form.control, name: 'custom' });
  const values = form.watch();
  const overrides = mappingOverrides(
    connector.defaultMapping,
    values.fields,
    values.custom.map((row, index) => ({ row: index, ...row })),
    d.mapping.values,
  );
  const runPreview = useApiMutation(() =>
    unwrap(
      client.POST('/api/v1/organizations/{org}/hris/directories/{id}/mapping/preview', {
        ...path,
        body: { mapping: overrides, limit: 3 },
      }),
    ),
  );
  const save = useApiMutation(
    () =>
      unwrap(
        client.PATCH('/api/v1/organizations/{org}/hris/directories/{id}', {
          ...path,
          body: { mapping: overrides },
        }),
      ),
    { onSuccess: onSaved },
  );
  const labels = new Map((sourceFields.data?.data ?? []).map((field) => [field.key, field.label]));
  /** A new custom attribute row; a preview no longer shows what will be saved. */
  const addCustom = (source = '') => {
    custom.append({ name: source ? attributeNameFor(source) : '', source }, { shouldFocus: false });
    runPreview.reset();
  };
  /** Any edit: the preview and the "saved" note no longer hold. */
  const changed = () => {
    runPreview.reset();
    save.reset();
  };
  return (
    <form className="card form" aria-label="Field mapping" onSubmit={form.handleSubmit(() => save.mutate())}>
      <h2>Field mapping</h2>
      <p className="muted">
        Which {connector.displayName} field fills each Switchboard field. Empty: not read. Defaults come with
        the connector; custom fields become custom profile attributes.
      </p>
      {sourceFields.error ? (
        <div className="warning">
          Could not list {connector.displayName}'s fields ({sourceFields.error.detail}); type field keys by
          hand.
        </div>
      ) : null}
      <datalist id="hr-source-fields">
        {(sourceFields.data?.data ?? []).map((field) => (
          <option key={field.key} value={field.key}>
            {field.label}
          </option>
        ))}
      </datalist>
      <fieldset disabled={!admin}>
        <legend>Switchboard fields</legend>
        <div className="table-wrap">
          <table className="mapping">
            <thead>
              <tr>
                <th>Switchboard field</th>
                <th>{connector.displayName} field</th>
                <th>Connector default</th>
              </tr>
            </thead>
            <tbody>
              {CANONICAL_FIELDS.map((field) => {
                const standard = connector.defaultMapping.fields[field] ?? '';
                const chosen = values.fields[field] ?? '';
                return (
                  <tr key={field}>
                    <td>
                      <label htmlFor={`map-${field}`}>{humanize(field)}</label>
                    </td>
                    <td>
                      <input
                        id={`map-${field}`}
                        className="mono"
                        list="hr-source-fields"
                        placeholder="not read"
                        {...form.register(`fields.${field}`, { onChange: changed })}
                      />
                      {chosen && labels.get(chosen) ? <div className="hint">{labels.get(chosen)}</div> : null}
                    </td>
                    <td className="mono small">
                      {standard || '—'}
                      {chosen.trim() !== standard ? (
                        <>
                          {' '}
                          <Badge tone="warn">changed</Badge>
                        </>
                      ) : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </fieldset>
      <fieldset disabled={!admin}>
        <legend>Custom attributes</legend>
        {custom.fields.length === 0 ? (
          <p className="muted small">
            None. A custom HR field (a shirt size, a cost code) can be kept as a custom profile attribute.
          </p>
        ) : null}
        {custom.fields.map((row, index) => (
          <div className="row" key={row.id}>
            <Field label={`Attribute name ${index + 1}`} htmlFor={`custom-name-${row.id}`}>
              <input
                id={`custom-name-${row.id}`}
                placeholder="shirtSize"
                {...form.register(`custom.${index}.name`, { onChange: changed })}
              />
            </Field>
            <Field label={`Source field ${index + 1}`} htmlFor={`custom-source-${row.id}`}>
              <input
                id={`custom-source-${row.id}`}
                className="mono"
                list="hr-source-fields"
                {...form.register(`custom.${index}.source`, { onChange: changed })}
              />
            </Field>
            <button
              type="button"
              className="secondary small"
              aria-label={`Remove custom attribute ${values.custom[index]?.name || index + 1}`}
              onClick={() => {
                custom.remove(index);
                changed();
              }}
            >
              Remove
            </button>
          </div>
        ))}
        <button type="button" className="secondary small" onClick={() => addCustom()}>
          Add custom attribute
        </button>
      </fieldset>
      {Object.keys(d.mapping.values).length ? (
        <p className="muted small">
          Value translations of this connector ({Object.keys(d.mapping.values).join(', ')}) are kept as they
          are.
        </p>
      ) : null}
      <ErrorBox error={runPreview.error ?? save.error} />
      {admin ? (
        <div className="actions">
          <Button
            className="secondary"
            busy={runPreview.isPending}
            busyLabel="Reading records…"
            onClick={() => runPreview.mutate()}
          >
            Preview
          </Button>
          <Button type="submit" className="primary" busy={save.isPending} busyLabel="Saving…">
            Save mapping
          </Button>
          {save.isSuccess ? (
            <span className="ok-text" role="status">
              Mapping saved; the next sync uses it.
            </span>
          ) : null}
        </div>
      ) : (
        <p className="muted small">Your role can read the mapping; admins change and preview it.</p>
      )}
      {runPreview.data ? (
        <MappingPreview
          preview={runPreview.data}
          displayName={connector.displayName}
          onMapCustom={admin ? (source) => addCustom(source) : undefined}
        />
      ) : null}
    </form>
  );
}
