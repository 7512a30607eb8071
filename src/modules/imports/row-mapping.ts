/**
 * One file row -> the person it describes, with the reasons it cannot be imported. Pure: the
 * preview and the apply run the same code on the same row.
 */
import { EMAIL_PATTERN, MAX_PROFILE_BYTES } from '../directory/index.ts';
import type { ImportField, ResolvedColumn } from './columns.ts';
import type { RawRow } from './spreadsheet-reader.ts';

export interface RowReason {
  code: string;
  message: string;
  field?: string;
}

export interface MappedRow {
  rowNumber: number;
  /** Trimmed email as written; null when the cell is empty. */
  email: string | null;
  givenName?: string;
  familyName?: string;
  displayName?: string;
  employeeId?: string;
  /** Canonical (department, title, employee_id) and custom attributes; empty cells left out. */
  profile: Record<string, string>;
  /** Group names from the group column (`;` or `|` separate several). */
  groups: string[];
  reasons: RowReason[];
  warnings: RowReason[];
}

const MAX_NAME = 200;
const MAX_VALUE = 2000;

/** Leading characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection). */
export const FORMULA_TRIGGERS = ['=', '+', '-', '@', '\t', '\r'];

/** True when a value would run as a formula if a spreadsheet opened it unescaped. */
export function looksLikeFormula(value: string): boolean {
  if (!value) return false;
  const first = value[0] as string;
  if (first === '=' || first === '@' || first === '\t' || first === '\r') return true;
  // `+34 600 000 000` and `-5` are numbers, not formulas.
  if (first === '+' || first === '-') return !/^[+-][\d\s().]*$/.test(value);
  return false;
}

export function mapRow(
  raw: RawRow,
  columns: readonly ResolvedColumn[],
  required: readonly ImportField[],
): MappedRow {
  const row: MappedRow = {
    rowNumber: raw.rowNumber,
    email: null,
    profile: {},
    groups: [],
    reasons: [],
    warnings: [],
  };
  const byField = new Map<string, { value: string; header: string }>();
  for (const column of columns) {
    if (column.target === 'ignore') continue;
    const value = (raw.cells[column.index] ?? '').trim();
    const problem = raw.problems.find((item) => item.column === column.index);
    if (problem) {
      row.reasons.push({
        code: problem.code,
        message: `${column.header}: ${problem.message}`,
        field: column.header,
      });
      continue;
    }
    if (!value) continue;
    if (value.length > MAX_VALUE) {
      row.reasons.push({
        code: 'value_too_long',
        message: `${column.header} is ${value.length} characters long (at most ${MAX_VALUE}).`,
        field: column.header,
      });
      continue;
    }
    if (looksLikeFormula(value) && column.target !== 'email') {
      row.warnings.push({
        code: 'formula_like_value',
        message: `${column.header} starts with "${value[0] === '\t' ? '\\t' : value[0] === '\r' ? '\\r' : value[0]}"; it is stored as text, never evaluated, and escaped in CSV reports.`,
        field: column.header,
      });
    }
    if (column.target.startsWith('custom:')) {
      row.profile[column.target.slice('custom:'.length)] = value;
      continue;
    }
    byField.set(column.target, { value, header: column.header });
  }

  const email = byField.get('email');
  row.email = email?.value ?? null;
  for (const field of required) {
    if (!byField.has(field) && !row.reasons.some((reason) => reason.field === headerOf(columns, field))) {
      row.reasons.push({
        code: 'missing_required_field',
        message: `${headerOf(columns, field) ?? field} is empty; it is required.`,
        field: headerOf(columns, field) ?? field,
      });
    }
  }
  if (email) {
    if (looksLikeFormula(email.value)) {
      row.reasons.push({
        code: 'invalid_email',
        message: `${email.header} "${email.value}" starts like a spreadsheet formula; it is not an email address.`,
        field: email.header,
      });
    } else if (email.value.length > 320 || !EMAIL_PATTERN.test(email.value)) {
      row.reasons.push({
        code: 'invalid_email',
        message: `${email.header} "${email.value}" is not an email address such as ada@example.com.`,
        field: email.header,
      });
    }
  }
  for (const [field, key] of [
    ['given_name', 'givenName'],
    ['family_name', 'familyName'],
    ['name', 'displayName'],
  ] as const) {
    const found = byField.get(field);
    if (!found) continue;
    if (found.value.length > MAX_NAME) {
      row.reasons.push({
        code: 'value_too_long',
        message: `${found.header} is longer than ${MAX_NAME} characters.`,
        field: found.header,
      });
    } else row[key] = found.value;
  }
  const employeeId = byField.get('employee_id');
  if (employeeId) {
    row.employeeId = employeeId.value;
    row.profile.employee_id = employeeId.value;
  }
  for (const field of ['department', 'title'] as const) {
    const found = byField.get(field);
    if (found) row.profile[field] = found.value;
  }
  const groups = byField.get('group');
  if (groups) {
    const names = new Map<string, string>();
    for (const part of groups.value.split(/[;|]/)) {
      const name = part.trim();
      if (name.length > 256) {
        row.reasons.push({
          code: 'value_too_long',
          message: `A group name is longer than 256 characters.`,
          field: groups.header,
        });
      } else if (name) names.set(name.toLowerCase(), name);
    }
    row.groups = [...names.values()];
  }
  if (JSON.stringify(row.profile).length > MAX_PROFILE_BYTES) {
    row.reasons.push({
      code: 'profile_too_large',
      message: `The row's attributes exceed ${MAX_PROFILE_BYTES} bytes.`,
    });
  }
  return row;
}

function headerOf(columns: readonly ResolvedColumn[], field: ImportField): string | undefined {
  return columns.find((column) => column.target === field)?.header;
}
