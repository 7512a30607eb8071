/**
 * The pure parts of the provisioning rule editor (./pages/provisioning/rule-editor.tsx): a rule's condition
 * (the language of src/platform/conditions.ts) and its effects (src/modules/provisioning/contracts.ts
 * `ruleEffectSchema`) as form rows and back, and what is missing in a form, named by row and field.
 * Kept apart so they are tested without a browser, against the server's own schemas.
 */

export type Scalar = string | number | boolean;

/** A test on a person: who they are, where they came from, or one of their attributes. */
export type Operator =
  | 'in'
  | 'notIn'
  | 'equals'
  | 'notEquals'
  | 'oneOf'
  | 'noneOf'
  | 'contains'
  | 'notContains'
  | 'startsWith'
  | 'notStartsWith'
  | 'set'
  | 'unset'
  | 'always';

export interface ConditionRow {
  type: 'row';
  key: string;
  /** `group`, `role`, `source`, `always`, or an attribute path (`email`, `hr.department`, ...). */
  subject: string;
  operator: Operator;
  /** As typed; one for single-value operators, one or more for lists, none for set/unset. */
  values: string[];
  /** The values as they were in the JSON (numbers and booleans stay so while unchanged). */
  raw?: Scalar[];
}

export interface ConditionGroup {
  type: 'group';
  key: string;
  match: 'all' | 'any';
  /** "None of these" / "not all of these": the group is wrapped in `not`. */
  negate: boolean;
  items: ConditionNode[];
}

export type ConditionNode = ConditionRow | ConditionGroup;

/** The top of a condition: a group, and whether the JSON was a bare test (no `all`/`any`). */
export interface ConditionForm {
  root: ConditionGroup;
  bare: boolean;
}

export const MEMBERSHIP_SUBJECTS = ['group', 'role', 'source'] as const;

/** Where people can come from (src/platform/conditions.ts `source`). */
export const SOURCES = ['scim', 'sso', 'import', 'hris', 'api'] as const;

export const ATTRIBUTE_OPERATORS: Array<{ value: Operator; label: string }> = [
  { value: 'equals', label: 'is' },
  { value: 'notEquals', label: 'is not' },
  { value: 'oneOf', label: 'is one of' },
  { value: 'noneOf', label: 'is none of' },
  { value: 'contains', label: 'contains' },
  { value: 'notContains', label: 'does not contain' },
  { value: 'startsWith', label: 'starts with' },
  { value: 'notStartsWith', label: 'does not start with' },
  { value: 'set', label: 'is set' },
  { value: 'unset', label: 'is not set' },
];

export function membershipOperators(subject: string): Array<{ value: Operator; label: string }> {
  if (subject === 'group')
    return [
      { value: 'in', label: 'is a member of any of' },
      { value: 'notIn', label: 'is a member of none of' },
    ];
  if (subject === 'role')
    return [
      { value: 'in', label: 'has any of the roles' },
      { value: 'notIn', label: 'has none of the roles' },
    ];
  return [
    { value: 'in', label: 'came from any of' },
    { value: 'notIn', label: 'came from none of' },
  ];
}

export function operatorsFor(subject: string): Array<{ value: Operator; label: string }> {
  if (subject === 'always') return [{ value: 'always', label: 'everyone matches' }];
  if ((MEMBERSHIP_SUBJECTS as readonly string[]).includes(subject)) return membershipOperators(subject);
  return ATTRIBUTE_OPERATORS;
}

/** Operators that take several values (a list), none, or one. */
export function arityOf(operator: Operator): 'many' | 'none' | 'one' {
  if (operator === 'in' || operator === 'notIn' || operator === 'oneOf' || operator === 'noneOf')
    return 'many';
  if (operator === 'set' || operator === 'unset' || operator === 'always') return 'none';
  return 'one';
}

/** Why a JSON condition or effect list cannot be edited as a form: where, and what. */
export class NotAForm extends Error {
  readonly path: string;
  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.path = path;
  }
}

let counter = 0;
export function newKey(prefix = 'k'): string {
  counter += 1;
  return `${prefix}${counter}`;
}

export function emptyRow(subject = 'group'): ConditionRow {
  const operator = operatorsFor(subject)[0]?.value ?? 'equals';
  return { type: 'row', key: newKey('row'), subject, operator, values: [] };
}

export function emptyGroup(match: 'all' | 'any' = 'all'): ConditionGroup {
  return { type: 'group', key: newKey('grp'), match, negate: false, items: [] };
}

export function newConditionForm(): ConditionForm {
  const root = emptyGroup('all');
  root.items.push(emptyRow('group'));
  return { root, bare: false };
}

/** The deepest nesting the form shows (the top group is level 1). */
export const MAX_DEPTH = 4;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isScalar = (value: unknown): value is Scalar =>
  typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

function oneKey(value: Record<string, unknown>, path: string): string {
  const keys = Object.keys(value);
  if (keys.length !== 1)
    throw new NotAForm(
      path,
      `a test has exactly one of all, any, not, group, role, source, always; found ${keys.join(', ') || 'none'}`,
    );
  return keys[0] as string;
}

function stringList(value: unknown, path: string): { values: string[]; raw: Scalar[] } {
  const items = Array.isArray(value) ? value : [value];
  if (!items.length || !items.every((item) => typeof item === 'string'))
    throw new NotAForm(path, 'expected a name or a list of names');
  return { values: items as string[], raw: items as string[] };
}

/** A JSON condition as form rows; throws NotAForm when it cannot be shown as one. */
export function conditionToForm(condition: unknown): ConditionForm {
  if (!isRecord(condition)) throw new NotAForm('condition', 'a condition is a JSON object');
  const key = 'attribute' in condition ? 'attribute' : oneKey(condition, 'condition');
  if (key === 'all' || key === 'any')
    return { root: toNode(condition, 'condition', 1) as ConditionGroup, bare: false };
  const root = emptyGroup('all');
  root.items.push(toNode(condition, 'condition', 2));
  return { root, bare: true };
}

function toNode(value: unknown, path: string, depth: number): ConditionNode {
  if (!isRecord(value)) throw new NotAForm(path, 'a test is a JSON object');
  if (depth > MAX_DEPTH)
    throw new NotAForm(path, `groups nest more than ${MAX_DEPTH} levels deep; the form shows ${MAX_DEPTH}`);
  if ('attribute' in value) return attributeRow(value, path);
  const key = oneKey(value, path);
  const inner = value[key];
  switch (key) {
    case 'all':
    case 'any': {
      if (!Array.isArray(inner)) throw new NotAForm(`${path}.${key}`, 'expected a list of tests');
      const group = emptyGroup(key);
      group.items = inner.map((item, index) => toNode(item, `${path}.${key}[${index}]`, depth + 1));
      return group;
    }
    case 'not': {
      const node = toNode(inner, `${path}.not`, depth);
      if (node.type === 'group' && !node.negate) return { ...node, negate: true };
      if (node.type === 'row') {
        const negated = negateOperator(node.operator);
        if (negated) return { ...node, operator: negated };
      }
      if (depth + 1 > MAX_DEPTH)
        throw new NotAForm(
          path,
          `groups nest more than ${MAX_DEPTH} levels deep; the form shows ${MAX_DEPTH}`,
        );
      return { ...emptyGroup('all'), negate: true, items: [node] };
    }
    case 'group':
    case 'role':
    case 'source':
      return {
        type: 'row',
        key: newKey('row'),
        subject: key,
        operator: 'in',
        ...stringList(inner, `${path}.${key}`),
      };
    case 'always':
      if (inner !== true) throw new NotAForm(`${path}.always`, 'always is only ever true');
      return { type: 'row', key: newKey('row'), subject: 'always', operator: 'always', values: [] };
    default:
      throw new NotAForm(path, `"${key}" is not part of the condition language`);
  }
}

function attributeRow(value: Record<string, unknown>, path: string): ConditionRow {
  const { attribute, ...tests } = value;
  if (typeof attribute !== 'string' || !attribute)
    throw new NotAForm(`${path}.attribute`, 'expected the name of an attribute');
  const keys = Object.keys(tests);
  if (keys.length !== 1)
    throw new NotAForm(
      path,
      `an attribute test has exactly one of equals, in, contains, startsWith, exists; found ${keys.join(', ') || 'none'}`,
    );
  const test = keys[0] as string;
  const inner = tests[test];
  const row = (operator: Operator, raw: Scalar[]): ConditionRow => ({
    type: 'row',
    key: newKey('row'),
    subject: attribute,
    operator,
    values: raw.map(String),
    raw,
  });
  switch (test) {
    case 'equals':
      if (!isScalar(inner)) throw new NotAForm(`${path}.equals`, 'expected text, a number or true/false');
      return row('equals', [inner]);
    case 'in':
      if (!Array.isArray(inner) || !inner.length || !inner.every(isScalar))
        throw new NotAForm(`${path}.in`, 'expected a list of values');
      return row('oneOf', inner);
    case 'contains':
    case 'startsWith':
      if (typeof inner !== 'string') throw new NotAForm(`${path}.${test}`, 'expected text');
      return row(test, [inner]);
    case 'exists':
      if (typeof inner !== 'boolean') throw new NotAForm(`${path}.exists`, 'expected true or false');
      return {
        type: 'row',
        key: newKey('row'),
        subject: attribute,
        operator: inner ? 'set' : 'unset',
        values: [],
      };
    default:
      throw new NotAForm(path, `"${test}" is not a test of an attribute`);
  }
}

function negateOperator(operator: Operator): Operator | undefined {
  const pairs: Partial<Record<Operator, Operator>> = {
    in: 'notIn',
    equals: 'notEquals',
    oneOf: 'noneOf',
    contains: 'notContains',
    startsWith: 'notStartsWith',
    set: 'unset',
    unset: 'set',
  };
  return pairs[operator];
}

/** The values to write: the JSON's own (typed) values while unchanged, else the text as typed. */
function valuesOf(row: ConditionRow): Scalar[] {
  const typed = row.values.map((value) => value.trim());
  if (
    row.raw &&
    row.raw.length === typed.length &&
    row.raw.every((raw, index) => String(raw) === typed[index])
  )
    return row.raw;
  return typed;
}

function rowToCondition(row: ConditionRow): Record<string, unknown> {
  if (row.subject === 'always') return { always: true };
  const values = valuesOf(row);
  if ((MEMBERSHIP_SUBJECTS as readonly string[]).includes(row.subject)) {
    const names = values.map(String);
    const test = { [row.subject]: names.length === 1 ? names[0] : names };
    return row.operator === 'notIn' ? { not: test } : test;
  }
  const attribute = row.subject;
  const first = values[0] ?? '';
  switch (row.operator) {
    case 'equals':
      return { attribute, equals: first };
    case 'notEquals':
      return { not: { attribute, equals: first } };
    case 'oneOf':
      return { attribute, in: values };
    case 'noneOf':
      return { not: { attribute, in: values } };
    case 'contains':
      return { attribute, contains: String(first) };
    case 'notContains':
      return { not: { attribute, contains: String(first) } };
    case 'startsWith':
      return { attribute, startsWith: String(first) };
    case 'notStartsWith':
      return { not: { attribute, startsWith: String(first) } };
    case 'set':
      return { attribute, exists: true };
    default:
      return { attribute, exists: false };
  }
}

function nodeToCondition(node: ConditionNode): Record<string, unknown> {
  if (node.type === 'row') return rowToCondition(node);
  const inner = { [node.match]: node.items.map(nodeToCondition) };
  return node.negate ? { not: inner } : inner;
}

/** The form as the JSON the API takes. */
export function formToCondition(form: ConditionForm): Record<string, unknown> {
  const { root } = form;
  const only = root.items[0];
  if (form.bare && !root.negate && root.match === 'all' && root.items.length === 1 && only)
    return nodeToCondition(only);
  return nodeToCondition(root);
}

/** One problem in a form: the field at fault (as the page labels it) and what to do. */
export interface FormProblem {
  field: string;
  message: string;
}

/** A row's label as the page shows it: "Condition 2.1 (Department)". */
export function rowLabel(number: string, subject: string, label: (subject: string) => string): string {
  return `Condition ${number} (${label(subject)})`;
}

/** What is missing or wrong in the condition form, one message per row or group. */
export function conditionProblems(form: ConditionForm, label: (subject: string) => string): FormProblem[] {
  const problems: FormProblem[] = [];
  const visit = (group: ConditionGroup, prefix: string, name: string) => {
    if (group.items.length === 0 && (group.match === 'any' || prefix !== '')) {
      problems.push({
        field: name,
        message: `${name} is empty: add a condition to it, or remove the group.`,
      });
    }
    group.items.forEach((node, index) => {
      const number = prefix ? `${prefix}.${index + 1}` : String(index + 1);
      if (node.type === 'group') {
        visit(node, number, `Group ${number}`);
        return;
      }
      const field = rowLabel(number, node.subject, label);
      const values = node.values.map((value) => value.trim()).filter(Boolean);
      if (!node.subject.trim()) {
        problems.push({
          field,
          message: `${field}: choose an attribute, or type its name under "Other attribute".`,
        });
        return;
      }
      if (!/^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$/.test(node.subject) && node.subject !== 'always') {
        problems.push({
          field,
          message: `${field}: "${node.subject}" is not an attribute name; use letters, digits and dots for nested attributes (hr.custom.costCode).`,
        });
        return;
      }
      const arity = arityOf(node.operator);
      if (arity === 'one' && values.length === 0)
        problems.push({
          field,
          message: `${field}: enter a value, or choose "is set" to test only that it has one.`,
        });
      if (arity === 'many' && values.length === 0) {
        const what =
          node.subject === 'group'
            ? 'a group name'
            : node.subject === 'role'
              ? 'a role'
              : node.subject === 'source'
                ? 'a source'
                : 'a value';
        problems.push({ field, message: `${field}: add at least ${what} (press Enter after each).` });
      }
      if (node.subject === 'source') {
        const unknown = values.filter((value) => !(SOURCES as readonly string[]).includes(value));
        if (unknown.length)
          problems.push({
            field,
            message: `${field}: ${unknown.join(', ')} is not a source; use ${SOURCES.join(', ')}.`,
          });
      }
    });
  };
  visit(form.root, '', 'The condition');
  return problems;
}

// Effects: what a rule gives, per destination.

export type TimingMode = 'default' | 'daysAfterStart' | 'at';

export interface TimingForm {
  mode: TimingMode;
  days: string;
  /** A date, YYYY-MM-DD (midnight UTC). */
  date: string;
}

export interface EnrollmentForm {
  key: string;
  kind: 'course' | 'bundle';
  productId: string;
  activation: TimingForm;
  expiry: TimingForm;
}

export interface EffectForm {
  key: string;
  destinationId: string;
  account: boolean;
  enrollments: EnrollmentForm[];
  groups: string[];
}

export const noTiming = (): TimingForm => ({ mode: 'default', days: '', date: '' });

export function emptyEnrollment(): EnrollmentForm {
  return { key: newKey('enr'), kind: 'course', productId: '', activation: noTiming(), expiry: noTiming() };
}

export function emptyEffect(destinationId = ''): EffectForm {
  return { key: newKey('eff'), destinationId, account: true, enrollments: [], groups: [] };
}

const MIDNIGHT = /^(\d{4}-\d{2}-\d{2})T00:00:00(\.0+)?(Z|[+-]00:00)$/;

function timingToForm(value: unknown, path: string): TimingForm {
  if (value === undefined) return noTiming();
  if (isRecord(value) && Object.keys(value).length === 1) {
    if (typeof value.daysAfterStart === 'number' && Number.isInteger(value.daysAfterStart))
      return { mode: 'daysAfterStart', days: String(value.daysAfterStart), date: '' };
    if (typeof value.at === 'string') {
      const date = MIDNIGHT.exec(value.at)?.[1];
      if (!date) throw new NotAForm(`${path}.at`, `${value.at} has a time of day; the form sets dates only`);
      return { mode: 'at', days: '', date };
    }
  }
  throw new NotAForm(path, 'expected { "daysAfterStart": n } or { "at": "YYYY-MM-DDT00:00:00Z" }');
}

/** A JSON effect list as forms; throws NotAForm when it cannot be shown as one. */
export function effectsToForm(effects: unknown): EffectForm[] {
  if (!Array.isArray(effects)) throw new NotAForm('effects', 'effects are a JSON list');
  return effects.map((effect, index) => {
    const path = `effects[${index}]`;
    if (!isRecord(effect)) throw new NotAForm(path, 'an effect is a JSON object');
    const unknown = Object.keys(effect).filter(
      (key) => !['destinationId', 'account', 'enrollments', 'groups'].includes(key),
    );
    if (unknown.length) throw new NotAForm(path, `${unknown.join(', ')} is not part of an effect`);
    const { destinationId, account = true, enrollments = [], groups = [] } = effect;
    if (typeof destinationId !== 'string')
      throw new NotAForm(`${path}.destinationId`, 'expected a destination id');
    if (typeof account !== 'boolean') throw new NotAForm(`${path}.account`, 'expected true or false');
    if (!Array.isArray(groups) || !groups.every((group) => typeof group === 'string'))
      throw new NotAForm(`${path}.groups`, 'expected a list of group names');
    if (!Array.isArray(enrollments)) throw new NotAForm(`${path}.enrollments`, 'expected a list');
    return {
      key: newKey('eff'),
      destinationId,
      account,
      groups: groups as string[],
      enrollments: enrollments.map((enrollment, at) => {
        const where = `${path}.enrollments[${at}]`;
        if (!isRecord(enrollment)) throw new NotAForm(where, 'an enrollment is a JSON object');
        const extra = Object.keys(enrollment).filter(
          (key) => !['kind', 'id', 'activation', 'expiry'].includes(key),
        );
        if (extra.length) throw new NotAForm(where, `${extra.join(', ')} is not part of an enrollment`);
        const kind = enrollment.kind ?? 'course';
        if (kind !== 'course' && kind !== 'bundle')
          throw new NotAForm(`${where}.kind`, 'expected course or bundle');
        if (typeof enrollment.id !== 'string' && typeof enrollment.id !== 'number')
          throw new NotAForm(`${where}.id`, 'expected the course or bundle id');
        return {
          key: newKey('enr'),
          kind,
          productId: String(enrollment.id),
          activation: timingToForm(enrollment.activation, `${where}.activation`),
          expiry: timingToForm(enrollment.expiry, `${where}.expiry`),
        };
      }),
    };
  });
}

function timingToJson(timing: TimingForm): Record<string, unknown> | undefined {
  if (timing.mode === 'daysAfterStart') return { daysAfterStart: Number(timing.days.trim()) };
  if (timing.mode === 'at') return { at: `${timing.date}T00:00:00Z` };
  return undefined;
}

/** The effect forms as the JSON the API takes (every key written, as the API stores them). */
export function formToEffects(effects: EffectForm[]): Array<Record<string, unknown>> {
  return effects.map((effect) => ({
    destinationId: effect.destinationId,
    account: effect.account,
    enrollments: effect.enrollments.map((enrollment) => {
      const activation = timingToJson(enrollment.activation);
      const expiry = timingToJson(enrollment.expiry);
      return {
        kind: enrollment.kind,
        id: enrollment.productId.trim(),
        ...(activation ? { activation } : {}),
        ...(expiry ? { expiry } : {}),
      };
    }),
    groups: effect.groups.map((group) => group.trim()).filter(Boolean),
  }));
}

/** What is missing or wrong in the effect forms, named by destination block and field. */
export function effectProblems(effects: EffectForm[], destinationIds: ReadonlySet<string>): FormProblem[] {
  const problems: FormProblem[] = [];
  if (effects.length === 0)
    problems.push({
      field: 'Destinations',
      message: 'Destinations: add at least one destination, and what the rule gives there.',
    });
  effects.forEach((effect, index) => {
    const block = `Destination ${index + 1}`;
    if (!effect.destinationId)
      problems.push({ field: block, message: `${block}: choose where the rule provisions people.` });
    else if (destinationIds.size && !destinationIds.has(effect.destinationId))
      problems.push({
        field: block,
        message: `${block}: ${effect.destinationId} is not a destination of this organization; choose one from the list.`,
      });
    effect.enrollments.forEach((enrollment, at) => {
      const field = `${block}, enrollment ${at + 1}`;
      if (!enrollment.productId.trim())
        problems.push({
          field,
          message: `${field}: enter the ${enrollment.kind} id from the LMS (e.g. 1234).`,
        });
      for (const [name, timing] of [
        ['starts', enrollment.activation],
        ['expires', enrollment.expiry],
      ] as const) {
        if (timing.mode === 'daysAfterStart') {
          const days = Number(timing.days.trim());
          if (!timing.days.trim() || !Number.isInteger(days) || Math.abs(days) > 3650)
            problems.push({
              field,
              message: `${field}: "${name}" needs a whole number of days between -3650 and 3650.`,
            });
        }
        if (timing.mode === 'at' && !/^\d{4}-\d{2}-\d{2}$/.test(timing.date))
          problems.push({ field, message: `${field}: "${name}" needs a date.` });
      }
    });
    if (effect.groups.some((group) => group.trim().length > 256))
      problems.push({
        field: `${block}, LMS groups`,
        message: `${block}: LMS group names are at most 256 characters.`,
      });
  });
  return problems;
}
