/** The sign-in method picker (say basic or OAuth), shown only when a connector offers several. */
import { Field } from '../../components/ui.tsx';
import type { CredentialVariant } from '../../schema-form.ts';

export function SignInMethod({
  id,
  variants,
  value,
  onChange,
}: {
  id: string;
  variants: readonly CredentialVariant[];
  value: string;
  onChange: (type: string) => void;
}) {
  if (variants.length < 2) return null;
  return (
    <Field label="Sign-in method" htmlFor={id}>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {variants.map((v) => (
          <option key={v.type} value={v.type}>
            {v.label}
          </option>
        ))}
      </select>
    </Field>
  );
}
