import {
  type EffectForm,
  type EnrollmentForm,
  emptyEffect,
  emptyEnrollment,
  type TimingForm,
} from '../../rule-forms.ts';
import { ListInput } from './list-input.tsx';

function TimingFields({
  label,
  timing,
  onChange,
  defaultLabel,
}: {
  label: string;
  timing: TimingForm;
  onChange: (timing: TimingForm) => void;
  defaultLabel: string;
}) {
  return (
    <div className="row">
      <select
        aria-label={label}
        value={timing.mode}
        onChange={(e) => onChange({ ...timing, mode: e.target.value as TimingForm['mode'] })}
      >
        <option value="default">{defaultLabel}</option>
        <option value="daysAfterStart">days after their start date</option>
        <option value="at">on a date</option>
      </select>
      {timing.mode === 'daysAfterStart' ? (
        <input
          aria-label={`${label}: days after start`}
          type="number"
          className="days"
          value={timing.days}
          onChange={(e) => onChange({ ...timing, days: e.target.value })}
        />
      ) : null}
      {timing.mode === 'at' ? (
        <input
          aria-label={`${label}: date`}
          type="date"
          value={timing.date}
          onChange={(e) => onChange({ ...timing, date: e.target.value })}
        />
      ) : null}
    </div>
  );
}

function EnrollmentFields({
  enrollment,
  label,
  onChange,
  onRemove,
}: {
  enrollment: EnrollmentForm;
  label: string;
  onChange: (enrollment: EnrollmentForm) => void;
  onRemove: () => void;
}) {
  return (
    <div className="enrollment">
      <div className="row">
        <select
          aria-label={`${label} kind`}
          value={enrollment.kind}
          onChange={(e) => onChange({ ...enrollment, kind: e.target.value as EnrollmentForm['kind'] })}
        >
          <option value="course">Course</option>
          <option value="bundle">Bundle</option>
        </select>
        <input
          aria-label={`${label} ${enrollment.kind} id`}
          className="mono"
          placeholder={`${enrollment.kind} id in the LMS`}
          value={enrollment.productId}
          onChange={(e) => onChange({ ...enrollment, productId: e.target.value })}
        />
        <button type="button" className="secondary small" onClick={onRemove}>
          Remove {label.toLowerCase()}
        </button>
      </div>
      <div className="grid2">
        <div className="field">
          <span className="small">Starts</span>
          <TimingFields
            label={`${label} starts`}
            timing={enrollment.activation}
            defaultLabel="on their start date"
            onChange={(activation) => onChange({ ...enrollment, activation })}
          />
        </div>
        <div className="field">
          <span className="small">Expires</span>
          <TimingFields
            label={`${label} expires`}
            timing={enrollment.expiry}
            defaultLabel="never"
            onChange={(expiry) => onChange({ ...enrollment, expiry })}
          />
        </div>
      </div>
    </div>
  );
}

/** What the rule gives, one block per destination. */
export function EffectFields({
  effects,
  onChange,
  destinations,
}: {
  effects: EffectForm[];
  onChange: (effects: EffectForm[]) => void;
  destinations: Array<{ id: string; name: string; kind: string }>;
}) {
  const set = (index: number, effect: EffectForm) =>
    onChange(effects.map((current, at) => (at === index ? effect : current)));
  return (
    <div className="effects">
      {effects.map((effect, index) => {
        const block = `Destination ${index + 1}`;
        const known = destinations.some((d) => d.id === effect.destinationId);
        return (
          <fieldset key={effect.key} className="effect" aria-label={block}>
            <legend>{block}</legend>
            <div className="grid2">
              <div className="field">
                <label htmlFor={`${effect.key}-dest`}>Where</label>
                <select
                  id={`${effect.key}-dest`}
                  value={effect.destinationId}
                  onChange={(e) => set(index, { ...effect, destinationId: e.target.value })}
                >
                  <option value="">Choose a destination…</option>
                  {destinations.map((d) => (
                    <option key={d.id} value={d.id}>
                      {d.name}
                    </option>
                  ))}
                  {effect.destinationId && !known ? (
                    <option value={effect.destinationId}>{effect.destinationId} (not found)</option>
                  ) : null}
                </select>
              </div>
              <div className="field checkbox">
                <label>
                  <input
                    type="checkbox"
                    checked={effect.account}
                    onChange={(e) => set(index, { ...effect, account: e.target.checked })}
                  />{' '}
                  Ensure an account (implied by enrollments and groups)
                </label>
              </div>
            </div>
            <h4>Course enrollments</h4>
            {effect.enrollments.length === 0 ? <p className="muted small">No enrollment.</p> : null}
            {effect.enrollments.map((enrollment, at) => (
              <EnrollmentFields
                key={enrollment.key}
                label={`${block} enrollment ${at + 1}`}
                enrollment={enrollment}
                onChange={(next) =>
                  set(index, {
                    ...effect,
                    enrollments: effect.enrollments.map((current, i) => (i === at ? next : current)),
                  })
                }
                onRemove={() =>
                  set(index, { ...effect, enrollments: effect.enrollments.filter((_, i) => i !== at) })
                }
              />
            ))}
            <div className="actions">
              <button
                type="button"
                className="secondary small"
                onClick={() =>
                  set(index, { ...effect, enrollments: [...effect.enrollments, emptyEnrollment()] })
                }
              >
                Add enrollment to {block.toLowerCase()}
              </button>
            </div>
            <div className="field">
              <span className="small">LMS groups</span>
              <ListInput
                label={`${block} LMS groups`}
                values={effect.groups}
                onChange={(groups) => set(index, { ...effect, groups })}
              />
            </div>
            <div className="actions">
              <button
                type="button"
                className="secondary small"
                onClick={() => onChange(effects.filter((_, at) => at !== index))}
              >
                Remove {block.toLowerCase()}
              </button>
            </div>
          </fieldset>
        );
      })}
      <div className="actions">
        <button
          type="button"
          className="secondary"
          onClick={() =>
            onChange([
              ...effects,
              emptyEffect(destinations.find((d) => !effects.some((e) => e.destinationId === d.id))?.id ?? ''),
            ])
          }
        >
          Add destination
        </button>
      </div>
    </div>
  );
}
