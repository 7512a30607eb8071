/**
 * What the console's forms share: react-hook-form keeps the values, a zod schema checks them (the
 * same checks the pages made by hand before), and the first problem is shown like the API's own
 * problems (ErrorBox: what, the field, the fix).
 */
import type { FieldErrors, FieldValues } from 'react-hook-form';
import { ApiError } from './api/errors.ts';

/** The first error of a form, with its field's path (`config.baseUrl`). */
export function firstError(
  errors: FieldErrors<FieldValues>,
  prefix: string[] = [],
): { path: string; message: string } | undefined {
  for (const [key, value] of Object.entries(errors)) {
    if (!value || key === 'ref') continue;
    if (typeof value.message === 'string' && value.message) {
      return { path: [...prefix, key].join('.'), message: value.message };
    }
    if (typeof value === 'object') {
      const nested = firstError(value as FieldErrors<FieldValues>, [...prefix, key]);
      if (nested) return nested;
    }
  }
  return undefined;
}

/** A form's first problem as an ApiError for ErrorBox, or undefined when it has none. */
export function formProblem(
  errors: FieldErrors<FieldValues>,
  options: { code: string; fix?: string; field?: (path: string) => string | undefined },
): ApiError | undefined {
  const found = firstError(errors);
  if (!found) return undefined;
  const field = options.field ? options.field(found.path) : found.path;
  return new ApiError(0, {
    code: options.code,
    detail: found.message,
    ...(field ? { field } : {}),
    ...(options.fix ? { fix: options.fix } : {}),
  });
}
