/** What a catalog check found: courses a destination lacks, groups to be created, catalogs unread. */
import type { Schemas } from '../../api/types.ts';

export function CatalogWarnings({ warnings }: { warnings: Schemas['ProvisioningCatalogWarning'][] }) {
  if (!warnings.length) return null;
  return (
    <div className="warning" role="status">
      <ul>
        {warnings.map((warning) => (
          <li key={`${warning.code}:${warning.ruleId ?? ''}:${warning.field}`}>
            {warning.detail} <span className="muted">({warning.field})</span> {warning.fix}
          </li>
        ))}
      </ul>
    </div>
  );
}
