/** Provisioning attempts: each call to a destination, its outcome, status and latency. */
import type { Schemas } from '../../api/types.ts';
import { Empty, StatusBadge, when } from '../../components/ui.tsx';
import { Link } from '../../router.tsx';

export function AttemptRows({ attempts, org }: { attempts: Schemas['ProvisioningAttempt'][]; org: string }) {
  if (attempts.length === 0) return <Empty title="No attempt yet." />;
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Operation</th>
            <th>User</th>
            <th>Outcome</th>
            <th>HTTP</th>
            <th>Latency</th>
            <th>Error</th>
          </tr>
        </thead>
        <tbody>
          {attempts.map((a) => (
            <tr key={a.id}>
              <td>{when(a.createdAt)}</td>
              <td className="mono">{a.operation}</td>
              <td>
                <Link to={`/admin/o/${org}/users/${a.userId}`} className="mono">
                  {a.userId}
                </Link>
              </td>
              <td>
                <StatusBadge status={a.outcome} />
              </td>
              <td>{a.httpStatus ?? '—'}</td>
              <td>{a.latencyMs} ms</td>
              <td className="warn-text">{a.error ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
