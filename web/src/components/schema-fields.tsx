/** Inputs drawn from a connector's settings or secrets schema (see ../schema-form.ts). */
import type { ReactNode } from 'react';
import type { FieldSpec, FormValues } from '../schema-form.ts';
import { Field } from './ui.tsx';

/**
 * One input per field. Secrets are password inputs (a multi-line key a masked text area) that
 * start empty: the server never sends them back, so `editing` says "unchanged" instead.
 */
export function SchemaFields({
  idPrefix,
  specs,
  values,
  onChange,
  editing,
  invalidField,
}: {
  idPrefix: string;
  specs: FieldSpec[];
  values: FormValues;
  onChange: (key: string, value: string | boolean) => void;
  editing: boolean;
  /** A field the last attempt named as wrong (focusable, marked invalid). */
  invalidField?: string | undefined;
}) {
  if (specs.length === 0) return null;
  return (
    <div className="grid2">
      {specs.map((spec) => {
        const id = `${idPrefix}-${spec.key}`;
        const invalid = invalidField === spec.key || undefined;
        const text = typeof values[spec.key] === 'string' ? (values[spec.key] as string) : '';
        const placeholder =
          spec.secret && editing
            ? 'unchanged (write-only)'
            : spec.placeholder !== undefined
              ? `default: ${spec.placeholder}`
              : undefined;
        const label = spec.required && !editing ? `${spec.label} (required)` : spec.label;
        if (spec.input === 'checkbox') {
          const checked =
            typeof values[spec.key] === 'boolean'
              ? (values[spec.key] as boolean)
              : spec.placeholder === 'true';
          return (
            <div className="field checkbox" key={spec.key}>
              <label>
                <input
                  id={id}
                  type="checkbox"
                  checked={checked}
                  onChange={(e) => onChange(spec.key, e.target.checked)}
                />{' '}
                {spec.label}
              </label>
              {spec.hint ? <div className="hint">{spec.hint}</div> : null}
            </div>
          );
        }
        let control: ReactNode;
        if (spec.input === 'select') {
          control = (
            <select
              id={id}
              value={text}
              aria-invalid={invalid}
              onChange={(e) => onChange(spec.key, e.target.value)}
            >
              <option value="">
                {spec.placeholder !== undefined ? `default (${spec.placeholder})` : 'choose…'}
              </option>
              {(spec.options ?? []).map((option) => (
                <option key={option} value={option}>
                  {option}
                </option>
              ))}
            </select>
          );
        } else if (spec.input === 'multiline' || spec.input === 'json') {
          control = (
            <textarea
              id={id}
              rows={spec.input === 'json' ? 4 : 5}
              className={spec.secret ? 'mono secret' : 'mono'}
              autoComplete="off"
              spellCheck={false}
              aria-invalid={invalid}
              value={text}
              placeholder={placeholder}
              onChange={(e) => onChange(spec.key, e.target.value)}
            />
          );
        } else {
          control = (
            <input
              id={id}
              type={
                spec.secret
                  ? 'password'
                  : spec.input === 'url'
                    ? 'url'
                    : spec.input === 'email'
                      ? 'email'
                      : 'text'
              }
              autoComplete={spec.secret ? 'new-password' : 'off'}
              spellCheck={false}
              aria-invalid={invalid}
              value={text}
              placeholder={placeholder}
              onChange={(e) => onChange(spec.key, e.target.value)}
            />
          );
        }
        return (
          <Field key={spec.key} label={label} htmlFor={id} hint={spec.hint}>
            {control}
          </Field>
        );
      })}
    </div>
  );
}
