/**
 * Imports: upload a roster (CSV or .xlsx) for a preview, and the imports so far (./detail.tsx shows
 * one: its column mapping, every row's outcome, applying it with live progress, the report).
 */
import { zodResolver } from '@hookform/resolvers/zod';
import { useQuery } from '@tanstack/react-query';
import { useForm } from 'react-hook-form';
import { z } from 'zod/mini';
import { client, unwrap } from '../../api/client.ts';
import { apiQuery, useApiMutation } from '../../api/queries.ts';
import { can } from '../../api/session.ts';
import type { PageProps } from '../../app.tsx';
import {
  Button,
  Empty,
  ErrorBox,
  Field,
  Loader,
  PageHeader,
  StatusBadge,
  when,
} from '../../components/ui.tsx';
import { formProblem } from '../../forms.ts';
import { Link, navigate } from '../../router.tsx';
import { countsText } from './shared.ts';

const uploadForm = z.object({
  file: z.pipe(
    z.custom<FileList | undefined>(),
    z.transform((files: FileList | undefined, payload) => {
      const file = files?.[0];
      if (!file) {
        payload.issues.push({ code: 'custom', message: 'Choose a CSV or .xlsx file first.', input: files });
        return z.NEVER;
      }
      return file;
    }),
  ),
  group: z.string(),
  createGroups: z.boolean(),
  fullRoster: z.boolean(),
});

export function ImportsPage({ session, params }: PageProps) {
  const org = params.org ?? '';
  const list = useQuery(
    apiQuery('/api/v1/organizations/{org}/imports', { params: { path: { org }, query: { limit: 50 } } }),
  );
  const form = useForm<z.input<typeof uploadForm>, unknown, z.output<typeof uploadForm>>({
    resolver: zodResolver(uploadForm),
    reValidateMode: 'onSubmit',
    defaultValues: { group: '', createGroups: false, fullRoster: false },
  });
  const upload = useApiMutation(
    (body: FormData) =>
      unwrap(
        client.POST('/api/v1/organizations/{org}/imports', {
          params: { path: { org } },
          // The multipart upload is read by @fastify/multipart, not described in the OpenAPI document.
          body: body as never,
        }),
      ),
    { onSuccess: (created) => navigate(`/admin/o/${org}/imports/${created.id}`) },
  );
  const problem = formProblem(form.formState.errors, { code: 'client_error', field: () => undefined });
  const submit = form.handleSubmit(
    ({ file, fullRoster, group, createGroups }) => {
      const body = new FormData();
      body.append('dryRun', 'true');
      body.append('fullRoster', String(fullRoster));
      if (group.trim()) body.append('group', group.trim());
      body.append('createGroups', String(createGroups));
      body.append('file', file, file.name);
      upload.mutate(body);
    },
    () => upload.reset(),
  );
  return (
    <>
      <PageHeader title="Imports" subtitle="Bring people in from a spreadsheet: preview first, then apply." />
      {can(session, 'admin') ? (
        <form className="card form" onSubmit={submit} aria-label="New import">
          <h2>Upload a roster</h2>
          <div className="grid2">
            <Field
              label="Roster file"
              htmlFor="import-file"
              hint="CSV or .xlsx with a header row; columns are recognised by name (English or Spanish)."
            >
              <input
                id="import-file"
                type="file"
                accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                {...form.register('file')}
              />
            </Field>
            <Field label="Add everyone to group" htmlFor="import-group" hint="Optional.">
              <input id="import-group" {...form.register('group')} />
            </Field>
          </div>
          <div className="field checkbox">
            <label>
              <input type="checkbox" {...form.register('createGroups')} /> Create missing groups
            </label>
          </div>
          <div className="field checkbox">
            <label>
              <input type="checkbox" {...form.register('fullRoster')} /> This file lists everyone (people
              missing from it are deactivated)
            </label>
          </div>
          <ErrorBox error={problem ?? upload.error} />
          <div className="actions">
            <Button type="submit" className="primary" busy={upload.isPending} busyLabel="Uploading…">
              Upload and preview
            </Button>
          </div>
        </form>
      ) : null}
      <Loader state={list} label="Loading imports…">
        {(page) =>
          page.data.length === 0 ? (
            <Empty title="No import yet.">Upload a roster to see a preview before anything changes.</Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>File</th>
                    <th>Status</th>
                    <th>Rows</th>
                    <th>Uploaded</th>
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((row) => (
                    <tr key={row.id}>
                      <td>
                        <Link to={`/admin/o/${org}/imports/${row.id}`}>{row.filename}</Link>
                      </td>
                      <td>
                        <StatusBadge status={row.status} />
                      </td>
                      <td>{countsText(row.counts)}</td>
                      <td>{when(row.createdAt)}</td>
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
