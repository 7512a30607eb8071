/**
 * The import report as CSV (RFC 4180), safe to open in a spreadsheet: a cell that begins with
 * `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with a single quote, so Excel, LibreOffice
 * and Google Sheets show it as text instead of running it as a formula (OWASP "CSV Injection").
 */

const TRIGGERS = new Set(['=', '+', '-', '@', '\t', '\r']);

/** Neutralizes a value a spreadsheet would run as a formula. */
export function escapeFormula(value: string): string {
  return value && TRIGGERS.has(value[0] as string) ? `'${value}` : value;
}

/** One CSV field: formula-escaped, then quoted when it holds a delimiter, a quote or a line break. */
export function csvField(value: unknown): string {
  const text = escapeFormula(value === null || value === undefined ? '' : String(value));
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
