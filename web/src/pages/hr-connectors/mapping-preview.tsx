/** A mapping tried on a few real records: each field as mapped, and the source fields no mapping uses. */
import type { Schemas } from '../../api/types.ts';
import { Empty } from '../../components/ui.tsx';
import { CANONICAL_FIELDS } from '../../hr-forms.ts';
import { humanize } from '../../schema-form.ts';
import { showValue } from './shared.ts';

export function MappingPreview({
  preview,
  displayName,
  onMapCustom,
}: {
  preview: Schemas['HrisMappingPreviewResult'];
  displayName: string;
  onMapCustom: ((source: string) => void) | undefined;
}) {
  const shown = CANONICAL_FIELDS.filter((field) =>
    preview.records.some(
      (record) => record.mapped.fields[field] !== undefined && record.mapped.fields[field] !== null,
    ),
  );
  const customNames = [...new Set(preview.records.flatMap((record) => Object.keys(record.mapped.custom)))];
  return (
    <section className="preview" aria-labelledby="hr-preview-title" data-testid="hr-mapping-preview">
      <h3 id="hr-preview-title">
        Preview: {preview.records.length} {preview.records.length === 1 ? 'record' : 'records'} from{' '}
        {displayName}, mapped (not saved)
      </h3>
      {preview.records.length === 0 ? (
        <Empty title={`${displayName} returned no record.`}>
          Nothing to preview: add people there first.
        </Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Field</th>
                {preview.records.map((record) => (
                  <th key={record.sourceId} className="mono">
                    {record.sourceId}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {shown.map((field) => (
                <tr key={field}>
                  <th scope="row">{humanize(field)}</th>
                  {preview.records.map((record) => (
                    <td key={record.sourceId}>{showValue(record.mapped.fields[field])}</td>
                  ))}
                </tr>
              ))}
              {customNames.map((name) => (
                <tr key={`custom.${name}`}>
                  <th scope="row">
                    {name} <span className="muted small">(custom)</span>
                  </th>
                  {preview.records.map((record) => (
                    <td key={record.sourceId}>{showValue(record.mapped.custom[name])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {preview.unmappedSourceFields.length ? (
        <div>
          <h4>Fields of these records no mapping uses</h4>
          <ul className="chips">
            {preview.unmappedSourceFields.map((source) => (
              <li key={source} className="chip">
                <span className="mono">{source}</span>
                {onMapCustom ? (
                  <button
                    type="button"
                    className="secondary small"
                    aria-label={`Keep ${source} as a custom attribute`}
                    onClick={() => onMapCustom(source)}
                  >
                    Keep
                  </button>
                ) : null}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </section>
  );
}
