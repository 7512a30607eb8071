/** New IdP metadata for a SAML connection: read again from its URL, or a new file (a rollover). */
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { client, unwrap } from '../../api/client.ts';
import { useApiMutation } from '../../api/queries.ts';
import { Button, ErrorBox } from '../../components/ui.tsx';
import type { Connection } from './presets.ts';

export function ReplaceMetadata({
  org,
  connection,
  onDone,
}: {
  org: string;
  connection: Connection;
  onDone: () => void;
}) {
  const path = { org, id: connection.id };
  const form = useForm({ defaultValues: { xml: '', fileName: '' } });
  const [xml, fileName] = form.watch(['xml', 'fileName']);
  const [outcome, setOutcome] = useState<string | undefined>();
  const refresh = useApiMutation(
    () =>
      unwrap(
        client.POST('/api/v1/organizations/{org}/connections/{id}/metadata/refresh', { params: { path } }),
      ),
    {
      onMutate: () => setOutcome(undefined),
      onSuccess: (result) => {
        setOutcome(
          result.error
            ? `The metadata could not be read: ${result.error}. The last good settings stay in use.`
            : result.changed
              ? 'New metadata saved.'
              : 'The metadata has not changed.',
        );
        onDone();
      },
    },
  );
  const upload = useApiMutation(
    (metadataXml: string) =>
      unwrap(
        client.PATCH('/api/v1/organizations/{org}/connections/{id}', {
          params: { path },
          body: { saml: { metadataXml } },
        }),
      ),
    {
      onMutate: () => setOutcome(undefined),
      onSuccess: () => {
        setOutcome('Uploaded metadata saved.');
        onDone();
      },
    },
  );
  return (
    <section className="card" aria-labelledby="meta-title">
      <h2 id="meta-title">Update the IdP metadata</h2>
      <p className="muted">
        When the client rolls over their signing certificate or moves their IdP, read the metadata again.
      </p>
      <div className="actions">
        {connection.saml?.metadataUrl ? (
          <Button
            className="secondary"
            busy={refresh.isPending}
            busyLabel="Fetching metadata…"
            onClick={() => refresh.mutate()}
          >
            Read metadata again from its URL
          </Button>
        ) : null}
      </div>
      <form className="toolbar" onSubmit={form.handleSubmit(({ xml }) => upload.mutate(xml))}>
        <label htmlFor="meta-file">New metadata file</label>
        <input
          id="meta-file"
          type="file"
          accept=".xml,application/xml,text/xml"
          onChange={async (e) => {
            const file = e.target.files?.[0];
            if (!file) return;
            form.setValue('fileName', file.name);
            form.setValue('xml', await file.text());
          }}
        />
        <Button
          type="submit"
          className="secondary"
          disabled={!xml}
          busy={upload.isPending}
          busyLabel="Checking and saving…"
        >
          Upload {fileName || 'metadata'}
        </Button>
      </form>
      <ErrorBox error={refresh.error ?? upload.error} />
      {outcome ? (
        <div className="ok-text" role="status">
          {outcome}
        </div>
      ) : null}
    </section>
  );
}
