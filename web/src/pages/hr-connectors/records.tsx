/** The HR records a connector read: unmatched and ambiguous ones to review and link, and all of them. */
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { client, unwrap } from '../../api/client.ts';
import { apiQuery, useApiMutation } from '../../api/queries.ts';
import { Pager } from '../../components/pager.tsx';
import { Badge, Button, Empty, ErrorBox, Loader, StatusBadge } from '../../components/ui.tsx';
import { readableReason } from '../../hr-forms.ts';
import { Link } from '../../router.tsx';
import { type HrRecord, showValue } from './shared.ts';

const RECORD_FILTERS = ['unmatched', 'ambiguous', 'created', 'matched', ''] as const;

export function RecordsToReview({
  org,
  directoryId,
  admin,
}: {
  org: string;
  directoryId: string;
  admin: boolean;
}) {
  const [filter, setFilter] = useState<(typeof RECORD_FILTERS)[number]>('unmatched');
  const [after, setAfter] = useState('');
  const records = useQuery(
    apiQuery('/api/v1/organizations/{org}/hris/directories/{id}/records', {
      params: {
        path: { org, id: directoryId },
        query: { limit: 50, ...(filter ? { match: filter } : {}), ...(after ? { after } : {}) },
      },
    }),
  );
  return (
    <section className="card" aria-labelledby="records-title">
      <h2 id="records-title">HR records</h2>
      <p className="muted">
        Each person the HR system sent, and the user they were matched to. Unmatched and ambiguous ones need a
        decision: link them to the right user.
      </p>
      <div className="toolbar">
        <label htmlFor="record-filter">Show</label>
        <select
          id="record-filter"
          value={filter}
          onChange={(e) => {
            setFilter(e.target.value as (typeof RECORD_FILTERS)[number]);
            setAfter('');
          }}
        >
          <option value="unmatched">unmatched (no user found)</option>
          <option value="ambiguous">ambiguous (several candidates)</option>
          <option value="created">created a user</option>
          <option value="matched">matched a user</option>
          <option value="">all</option>
        </select>
      </div>
      <Loader state={records} label="Loading records…">
        {(page) =>
          page.data.length === 0 ? (
            <Empty
              title={filter === 'unmatched' || filter === 'ambiguous' ? `No ${filter} record.` : 'No record.'}
            >
              {filter === 'unmatched' || filter === 'ambiguous'
                ? 'Nothing to review.'
                : 'Sync to read people.'}
            </Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Source id</th>
                    <th>Name</th>
                    <th>Work email</th>
                    <th>Employee id</th>
                    <th>Match</th>
                    <th>User</th>
                    {admin ? <th /> : null}
                  </tr>
                </thead>
                <tbody>
                  {page.data.map((record) => (
                    <RecordRow
                      key={record.sourceId}
                      record={record}
                      org={org}
                      directoryId={directoryId}
                      admin={admin}
                      onLinked={() => void records.refetch()}
                    />
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loader>
      <Pager after={after} next={records.data?.nextCursor ?? null} onPage={setAfter} />
    </section>
  );
}

function RecordRow({
  record,
  org,
  directoryId,
  admin,
  onLinked,
}: {
  record: HrRecord;
  org: string;
  directoryId: string;
  admin: boolean;
  onLinked: () => void;
}) {
  const form = useForm({ defaultValues: { userId: record.matchDetail?.candidates?.[0] ?? '' } });
  const userId = form.watch('userId');
  const link = useApiMutation(
    (userId: string) =>
      unwrap(
        client.POST('/api/v1/organizations/{org}/hris/directories/{id}/records/{sourceId}/link', {
          params: { path: { org, id: directoryId, sourceId: record.sourceId } },
          body: { userId },
        }),
      ),
    { onSuccess: onLinked },
  );
  const fields = record.employee.fields;
  const name =
    showValue(fields.displayName ?? null) !== '—'
      ? showValue(fields.displayName ?? null)
      : [fields.preferredName ?? fields.firstName, fields.lastName].filter(Boolean).join(' ') || '—';
  const review = record.matchStatus === 'unmatched' || record.matchStatus === 'ambiguous';
  return (
    <tr>
      <td className="mono">
        {record.sourceId}
        {record.deleted ? (
          <>
            {' '}
            <Badge tone="neutral">gone from source</Badge>
          </>
        ) : null}
      </td>
      <td>{name}</td>
      <td>{showValue(fields.workEmail ?? null)}</td>
      <td className="mono">{showValue(fields.employeeNumber ?? null)}</td>
      <td>
        <StatusBadge status={record.matchStatus} />
        {record.matchDetail ? (
          <div className="muted small">{readableReason(record.matchDetail.reason)}</div>
        ) : null}
        {record.matchDetail?.candidates?.length ? (
          <div className="small">
            Candidates:{' '}
            {record.matchDetail.candidates.map((candidate, index) => (
              <span key={candidate}>
                {index ? ', ' : ''}
                <Link to={`/admin/o/${org}/users/${candidate}`} className="mono">
                  {candidate}
                </Link>
              </span>
            ))}
          </div>
        ) : null}
      </td>
      <td>
        {record.userId ? (
          <Link to={`/admin/o/${org}/users/${record.userId}`} className="mono">
            {record.userId}
          </Link>
        ) : (
          '—'
        )}
      </td>
      {admin ? (
        <td>
          {review ? (
            <form
              className="toolbar"
              aria-label={`Link record ${record.sourceId}`}
              onSubmit={form.handleSubmit(({ userId }) => link.mutate(userId.trim()))}
            >
              <label htmlFor={`link-${record.sourceId}`} className="visually-hidden">
                User id for record {record.sourceId}
              </label>
              <input
                id={`link-${record.sourceId}`}
                className="mono"
                placeholder="usr_…"
                {...form.register('userId')}
              />
              <Button
                type="submit"
                className="secondary small"
                busy={link.isPending}
                disabled={!userId.trim()}
              >
                Link
              </Button>
              <ErrorBox error={link.error} />
            </form>
          ) : null}
        </td>
      ) : null}
    </tr>
  );
}
