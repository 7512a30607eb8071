/** A rule's dry run: who it would affect, where, with what, and the changes it would make. */
import type { Schemas } from '../../api/types.ts';
import { Empty } from '../../components/ui.tsx';
import { CatalogWarnings } from './catalog-warnings.tsx';

export function DryRunResult({
  result,
  names,
}: {
  result: Schemas['ProvisioningDryRunResult'];
  names: Map<string, string>;
}) {
  return (
    <section aria-labelledby="dry-run-title" className="preview">
      <h3 id="dry-run-title">
        Dry run: {result.affected.length} affected of {result.usersEvaluated} evaluated
        {result.truncated ? ' (first 200 shown)' : ''}
      </h3>
      <CatalogWarnings warnings={result.warnings} />
      {result.affected.length === 0 ? (
        <Empty title="Nobody would be affected." />
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Person</th>
                <th>Destination</th>
                <th>Would get</th>
                <th>Changes</th>
              </tr>
            </thead>
            <tbody>
              {result.affected.map((a) => (
                <tr key={`${a.userId}:${a.destinationId}`}>
                  <td>{a.email ?? a.userId}</td>
                  <td>{names.get(a.destinationId) ?? a.destinationId}</td>
                  <td>
                    {[
                      a.account ? 'account' : '',
                      ...a.enrollments.map((e) => `${e.kind} ${e.productId}`),
                      ...a.groups.map((g) => `group ${g}`),
                    ]
                      .filter(Boolean)
                      .join(', ')}
                  </td>
                  <td>{a.changes.join('; ') || 'none'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
