/**
 * Form fields of a provisioning rule: the condition as rows (attribute, operator, value) in
 * all/any groups that nest, and the effects per destination (account, course enrollments with
 * their start and expiry, LMS groups). The conversions to and from JSON are in ../rule-forms.ts.
 */
import { type KeyboardEvent, useId, useState } from 'react';
import { CANONICAL_FIELDS } from '../hr-forms.ts';
import {
  arityOf,
  type ConditionForm,
  type ConditionGroup,
  type ConditionNode,
  type ConditionRow,
  type EffectForm,
  type EnrollmentForm,
  emptyEffect,
  emptyEnrollment,
  emptyGroup,
  emptyRow,
  MAX_DEPTH,
  operatorsFor,
  SOURCES,
  type TimingForm,
} from '../rule-forms.ts';
import { humanize } from '../schema-form.ts';

export interface AttributeChoice {
  value: string;
  label: string;
}

export interface AttributeSection {
  label: string;
  choices: AttributeChoice[];
}

const OTHER = '__other__';

/**
 * Profile attributes SCIM (core and enterprise extension, src/modules/scim/service.ts), SSO and
 * imports (`employee_id`, `department`, `title`) write.
 */
const PROFILE_FIELDS = [
  'department',
  'title',
  'division',
  'organization',
  'costCenter',
  'employeeNumber',
  'employee_id',
  'userType',
  'locale',
];

/**
 * What a condition row can test, by section. Custom attributes: those the HR mappings write
 * (`hr.custom.<name>`) and those the SSO connections' mappings write (top-level profile keys).
 */
export function attributeSections(
  customAttributes: readonly string[],
  ssoAttributes: readonly string[] = [],
): AttributeSection[] {
  const sections: AttributeSection[] = [
    {
      label: 'Membership',
      choices: [
        { value: 'group', label: 'Groups' },
        { value: 'role', label: 'Roles' },
        { value: 'source', label: 'Source (how they arrived)' },
        { value: 'always', label: 'Everyone' },
      ],
    },
    {
      label: 'User',
      choices: [
        { value: 'email', label: 'Email' },
        { value: 'givenName', label: 'First name' },
        { value: 'familyName', label: 'Last name' },
      ],
    },
    {
      label: 'Profile (SSO, SCIM, imports)',
      choices: PROFILE_FIELDS.map((field) => ({
        value: field,
        label: field === 'employee_id' ? 'Employee id (SSO, imports)' : humanize(field),
      })),
    },
    {
      label: 'HR (from HR connectors)',
      choices: CANONICAL_FIELDS.map((field) => ({ value: `hr.${field}`, label: `HR: ${humanize(field)}` })),
    },
  ];
  if (customAttributes.length)
    sections.push({
      label: 'Custom attributes (HR mappings)',
      choices: customAttributes.map((name) => ({ value: `hr.custom.${name}`, label: `Custom: ${name}` })),
    });
  const sso = ssoAttributes.filter((name) => !PROFILE_FIELDS.includes(name));
  if (sso.length)
    sections.push({
      label: 'Custom attributes (SSO mappings)',
      choices: sso.map((name) => ({ value: name, label: `SSO: ${name}` })),
    });
  return sections;
}

export function labelOf(sections: AttributeSection[], subject: string): string {
  for (const section of sections) {
    const found = section.choices.find((choice) => choice.value === subject);
    if (found) return found.label;
  }
  return subject || 'no attribute';
}

/** A list of values as removable chips; Enter (or leaving the field) adds what is typed. */
export function ListInput({
  label,
  values,
  onChange,
  suggestions,
  placeholder,
  invalid,
}: {
  label: string;
  values: string[];
  onChange: (values: string[]) => void;
  suggestions?: readonly string[];
  placeholder?: string;
  invalid?: boolean;
}) {
  const [text, setText] = useState('');
  const listId = useId();
  const add = () => {
    const value = text.trim();
    if (value && !values.includes(value)) onChange([...values, value]);
    setText('');
  };
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      add();
    } else if (event.key === 'Backspace' && !text && values.length) {
      onChange(values.slice(0, -1));
    }
  };
  return (
    <div className="list-input">
      {values.length ? (
        <ul className="chips" aria-label={`${label}: values`}>
          {values.map((value) => (
            <li key={value} className="chip">
              {value}{' '}
              <button
                type="button"
                className="chip-remove"
                aria-label={`Remove ${value}`}
                onClick={() => onChange(values.filter((item) => item !== value))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <input
        aria-label={label}
        aria-invalid={invalid || undefined}
        value={text}
        list={suggestions?.length ? listId : undefined}
        placeholder={placeholder ?? (values.length ? 'add another, then Enter' : 'type, then Enter')}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
        onBlur={add}
      />
      {suggestions?.length ? (
        <datalist id={listId}>
          {suggestions.map((value) => (
            <option key={value} value={value} />
          ))}
        </datalist>
      ) : null}
    </div>
  );
}

function updateNode(
  group: ConditionGroup,
  key: string,
  change: (node: ConditionNode) => ConditionNode | undefined,
): ConditionGroup {
  const items: ConditionNode[] = [];
  for (const node of group.items) {
    if (node.key === key) {
      const next = change(node);
      if (next) items.push(next);
    } else if (node.type === 'group') {
      items.push(updateNode(node, key, change));
    } else {
      items.push(node);
    }
  }
  return { ...group, items };
}

/** The condition as rows in groups. */
export function ConditionFields({
  form,
  onChange,
  sections,
  groupNames,
  invalid = [],
}: {
  form: ConditionForm;
  onChange: (form: ConditionForm) => void;
  sections: AttributeSection[];
  groupNames: readonly string[];
  /** Fields the last check found at fault ("Condition 2.1 (Email)", "Group 3"). */
  invalid?: readonly string[];
}) {
  const setRoot = (root: ConditionGroup) => onChange({ ...form, root });
  const change = (key: string, fn: (node: ConditionNode) => ConditionNode | undefined) => {
    if (key === form.root.key) {
      const next = fn(form.root);
      if (next && next.type === 'group') setRoot(next);
      return;
    }
    setRoot(updateNode(form.root, key, fn));
  };
  return (
    <GroupFields
      group={form.root}
      number=""
      depth={1}
      change={change}
      sections={sections}
      groupNames={groupNames}
      invalid={invalid}
    />
  );
}

type Change = (key: string, fn: (node: ConditionNode) => ConditionNode | undefined) => void;

function GroupFields({
  group,
  number,
  depth,
  change,
  sections,
  groupNames,
  invalid,
}: {
  group: ConditionGroup;
  number: string;
  depth: number;
  change: Change;
  sections: AttributeSection[];
  groupNames: readonly string[];
  invalid: readonly string[];
}) {
  const name = number ? `Group ${number}` : 'The condition';
  const matchValue = `${group.negate ? 'not-' : ''}${group.match}`;
  const add = (node: ConditionNode) =>
    change(group.key, (current) =>
      current.type === 'group' ? { ...current, items: [...current.items, node] } : current,
    );
  return (
    <fieldset
      className={`cond-group depth-${depth}${invalid.includes(name) ? ' invalid' : ''}`}
      aria-label={name}
      aria-invalid={invalid.includes(name) || undefined}
    >
      <div className="row cond-match">
        <label htmlFor={`${group.key}-match`}>
          {number ? `Group ${number}: people who match` : 'People who match'}
        </label>
        <select
          id={`${group.key}-match`}
          value={matchValue}
          onChange={(e) => {
            const value = e.target.value;
            change(group.key, (current) =>
              current.type === 'group'
                ? {
                    ...current,
                    negate: value.startsWith('not-'),
                    match: value.endsWith('any') ? 'any' : 'all',
                  }
                : current,
            );
          }}
        >
          <option value="all">all of these</option>
          <option value="any">any of these</option>
          <option value="not-any">none of these</option>
          <option value="not-all">not all of these</option>
        </select>
        {number ? (
          <button
            type="button"
            className="secondary small"
            onClick={() => change(group.key, () => undefined)}
          >
            Remove group {number}
          </button>
        ) : null}
      </div>
      {group.items.length === 0 ? (
        <p className="muted small">
          {group.match === 'all' && !group.negate && !number
            ? 'No condition: everyone matches.'
            : 'Empty group: add a condition.'}
        </p>
      ) : null}
      <ol className="cond-items">
        {group.items.map((node, index) => {
          const child = number ? `${number}.${index + 1}` : String(index + 1);
          return (
            <li key={node.key}>
              {node.type === 'group' ? (
                <GroupFields
                  group={node}
                  number={child}
                  depth={depth + 1}
                  change={change}
                  sections={sections}
                  groupNames={groupNames}
                  invalid={invalid}
                />
              ) : (
                <RowFields
                  row={node}
                  number={child}
                  change={change}
                  sections={sections}
                  groupNames={groupNames}
                  invalid={invalid.some((field) => field.startsWith(`Condition ${child} (`))}
                />
              )}
            </li>
          );
        })}
      </ol>
      <div className="actions">
        <button type="button" className="secondary small" onClick={() => add(emptyRow('group'))}>
          Add condition{number ? ` to group ${number}` : ''}
        </button>
        {depth < MAX_DEPTH ? (
          <button
            type="button"
            className="secondary small"
            onClick={() => {
              const nested = emptyGroup(group.match === 'all' ? 'any' : 'all');
              nested.items.push(emptyRow('group'));
              add(nested);
            }}
          >
            Add group{number ? ` to group ${number}` : ''}
          </button>
        ) : null}
      </div>
    </fieldset>
  );
}

function RowFields({
  row,
  number,
  change,
  sections,
  groupNames,
  invalid,
}: {
  row: ConditionRow;
  number: string;
  change: Change;
  sections: AttributeSection[];
  groupNames: readonly string[];
  invalid: boolean;
}) {
  const known = sections.some((section) => section.choices.some((choice) => choice.value === row.subject));
  const [other, setOther] = useState(!known);
  const set = (patch: Partial<ConditionRow>) =>
    change(row.key, (node) => (node.type === 'row' ? { ...node, ...patch } : node));
  const operators = operatorsFor(row.subject);
  const arity = arityOf(row.operator);
  const label = `Condition ${number}`;
  const suggestions = row.subject === 'group' ? groupNames : row.subject === 'source' ? SOURCES : undefined;
  return (
    <div className={invalid ? 'cond-row invalid' : 'cond-row'}>
      <span className="cond-number" aria-hidden="true">
        {number}
      </span>
      <select
        aria-label={`${label} attribute`}
        value={other ? OTHER : row.subject}
        onChange={(e) => {
          const value = e.target.value;
          if (value === OTHER) {
            setOther(true);
            set({ subject: '', operator: 'equals', values: [], raw: undefined });
            return;
          }
          setOther(false);
          const kept = operatorsFor(value).some((op) => op.value === row.operator);
          set({
            subject: value,
            operator: kept ? row.operator : (operatorsFor(value)[0]?.value ?? 'equals'),
            values: kept ? row.values : [],
            raw: undefined,
          });
        }}
      >
        {sections.map((section) => (
          <optgroup key={section.label} label={section.label}>
            {section.choices.map((choice) => (
              <option key={choice.value} value={choice.value}>
                {choice.label}
              </option>
            ))}
          </optgroup>
        ))}
        <option value={OTHER}>Other attribute…</option>
      </select>
      {other ? (
        <input
          aria-label={`${label} attribute name`}
          aria-invalid={invalid || undefined}
          className="mono"
          value={row.subject}
          placeholder="hr.custom.costCode"
          onChange={(e) => set({ subject: e.target.value.trim() })}
        />
      ) : null}
      <select
        aria-label={`${label} operator`}
        value={row.operator}
        onChange={(e) => {
          const operator = e.target.value as ConditionRow['operator'];
          const nextArity = arityOf(operator);
          set({
            operator,
            values: nextArity === 'none' ? [] : nextArity === 'one' ? row.values.slice(0, 1) : row.values,
          });
        }}
      >
        {operators.map((op) => (
          <option key={op.value} value={op.value}>
            {op.label}
          </option>
        ))}
      </select>
      {arity === 'one' ? (
        <input
          aria-label={`${label} value`}
          aria-invalid={invalid || undefined}
          value={row.values[0] ?? ''}
          onChange={(e) => set({ values: [e.target.value] })}
        />
      ) : arity === 'many' ? (
        <ListInput
          label={`${label} values`}
          values={row.values}
          invalid={invalid}
          suggestions={suggestions}
          onChange={(values) => set({ values })}
        />
      ) : (
        <span />
      )}
      <button
        type="button"
        className="secondary small"
        aria-label={`Remove condition ${number}`}
        onClick={() => change(row.key, () => undefined)}
      >
        Remove
      </button>
    </div>
  );
}

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
