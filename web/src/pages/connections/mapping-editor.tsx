/** A connection's attribute mapping as JSON, beside sample claims; the preview follows every edit. */
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useForm } from 'react-hook-form';
import { client, unwrap } from '../../api/client.ts';
import { ApiError } from '../../api/errors.ts';
import { useApiMutation } from '../../api/queries.ts';
import type { Schemas } from '../../api/types.ts';
import { Badge, Button, ErrorBox, Field } from '../../components/ui.tsx';
import type { Connection } from './presets.ts';

/** The value once it has not changed for `delay` ms. */
function useDebouncedValue<T>(value: T, delay: number): T {
  const [settled, setSettled] = useState(value);
  const key = JSON.stringify(value);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the serialized value is the trigger
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delay);
    return () => clearTimeout(timer);
  }, [key, delay]);
  return settled;
}

/** The preview request, or why the JSON typed cannot be sent. */
function parsePreviewRequest(mappingText: string, claimsText: string, nameId: string) {
  try {
    return {
      claims: JSON.parse(claimsText) as Record<string, unknown>,
      mapping: JSON.parse(mappingText) as Schemas['AttributeMapping'],
      ...(nameId ? { nameId } : {}),
    };
  } catch (caught) {
    return new ApiError(0, {
      code: 'invalid_json',
      detail: `Not valid JSON: ${(caught as Error).message}`,
      fix: 'Fix the JSON to see the preview.',
    });
  }
}

const SAMPLE_CLAIMS: Record<string, Record<string, unknown>> = {
  saml: {
    email: 'jane.doe@example.com',
    firstName: 'Jane',
    lastName: 'Doe',
    groups: ['Engineering', 'Managers'],
  },
  oidc: {
    sub: '00u1abcd',
    email: 'jane.doe@example.com',
    given_name: 'Jane',
    family_name: 'Doe',
    groups: ['Engineering'],
  },
};

/** Mapping JSON and sample claims side by side; the preview follows every edit. */
export function MappingEditor({
  org,
  connection,
  canEdit,
  onSaved,
}: {
  org: string;
  connection: Connection;
  canEdit: boolean;
  onSaved: () => void;
}) {
  const form = useForm({
    defaultValues: {
      mappingText: JSON.stringify(connection.mapping, null, 2),
      claimsText: JSON.stringify(SAMPLE_CLAIMS[connection.protocol], null, 2),
      nameId: connection.protocol === 'saml' ? 'jane.doe@example.com' : '',
    },
  });
  const path = { org, id: connection.id };
  // The preview follows the edits, once typing pauses.
  const [mappingText, claimsText, nameId] = useDebouncedValue(
    form.watch(['mappingText', 'claimsText', 'nameId']),
    400,
  );
  const request = parsePreviewRequest(mappingText, claimsText, nameId);
  const preview = useQuery({
    queryKey: ['/api/v1/organizations/{org}/connections/{id}/mapping/preview', path, request],
    queryFn: () =>
      unwrap(
        client.POST('/api/v1/organizations/{org}/connections/{id}/mapping/preview', {
          params: { path },
          body: request as Schemas['MappingPreviewRequest'],
        }),
      ),
    enabled: !(request instanceof ApiError),
  });
  const previewError = request instanceof ApiError ? request : preview.error;
  const save = useApiMutation(
    (mappingText: string) =>
      unwrap(
        client.PATCH('/api/v1/organizations/{org}/connections/{id}', {
          params: { path },
          body: { mapping: JSON.parse(mappingText) },
        }),
      ),
    { onSuccess: onSaved },
  );

  return (
    <section className="card" aria-labelledby="mapping-title">
      <h2 id="mapping-title">Attribute mapping</h2>
      <p className="muted">
        Each field names a claim or SAML attribute (or a list tried in order; <code>$nameid</code> is the SAML
        NameID). The preview shows what a login with the sample claims would produce.
      </p>
      <div className="grid2">
        <Field label="Mapping (JSON)" htmlFor="map-json">
          <textarea
            id="map-json"
            className="mono"
            rows={14}
            {...form.register('mappingText')}
            spellCheck={false}
          />
        </Field>
        <div>
          <Field label="Sample claims from the IdP (JSON)" htmlFor="map-claims">
            <textarea
              id="map-claims"
              className="mono"
              rows={10}
              {...form.register('claimsText')}
              spellCheck={false}
            />
          </Field>
          {connection.protocol === 'saml' ? (
            <Field label="NameID" htmlFor="map-nameid">
              <input id="map-nameid" {...form.register('nameId')} />
            </Field>
          ) : null}
        </div>
      </div>
      <div className="preview" aria-live="polite" data-testid="mapping-preview">
        <h3>
          Preview{' '}
          {preview.isFetching ? (
            <span>
              <span className="spinner small" aria-hidden="true" />
              <span className="visually-hidden">Updating preview</span>
            </span>
          ) : null}
        </h3>
        <ErrorBox error={previewError} />
        {preview.data && !previewError ? (
          <>
            <div>
              {preview.data.usable ? (
                <Badge tone="ok">Login would succeed</Badge>
              ) : (
                <Badge tone="bad">Login would fail</Badge>
              )}
            </div>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Field</th>
                    <th>Value</th>
                    <th>From</th>
                  </tr>
                </thead>
                <tbody>
                  {Object.entries(preview.data.profile).map(([field, value]) => (
                    <tr key={field}>
                      <td>{field}</td>
                      <td className="mono">{typeof value === 'string' ? value : JSON.stringify(value)}</td>
                      <td className="mono">{preview.data.sources[field] ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {preview.data.missing.length ? (
              <div className="warning">
                Missing:{' '}
                {preview.data.missing
                  .map((m) => `${m.field} (tried ${m.tried.join(', ') || 'nothing'})`)
                  .join('; ')}
              </div>
            ) : null}
            {preview.data.invalid.map((i) => (
              <div key={i.field} className="warning">
                {i.field} from {i.source}: {i.reason}
              </div>
            ))}
            {preview.data.problems.map((p) => (
              <div key={p} className="error">
                {p}
              </div>
            ))}
          </>
        ) : null}
      </div>
      <ErrorBox error={save.error} />
      {save.isSuccess ? (
        <div className="ok-text" role="status">
          Mapping saved.
        </div>
      ) : null}
      {canEdit ? (
        <div className="actions">
          <Button
            className="primary"
            busy={save.isPending}
            busyLabel="Saving…"
            onClick={() => save.mutate(form.getValues('mappingText'))}
          >
            Save mapping
          </Button>
        </div>
      ) : null}
    </section>
  );
}
