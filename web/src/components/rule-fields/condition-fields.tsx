/** A rule's condition as rows (attribute, operator, value) in all/any groups that nest. */
import { useState } from 'react';
import {
  arityOf,
  type ConditionForm,
  type ConditionGroup,
  type ConditionNode,
  type ConditionRow,
  emptyGroup,
  emptyRow,
  MAX_DEPTH,
  operatorsFor,
  SOURCES,
} from '../../rule-forms.ts';
import { type AttributeSection, OTHER } from './attributes.ts';
import { ListInput } from './list-input.tsx';

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
