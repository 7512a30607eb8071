/**
 * The kinds of destination (Thinkific, a SCIM app, a signed webhook): their names, their settings
 * and write-only credential inputs, and what was typed split back into the two.
 */
import type { UseFormRegisterReturn } from 'react-hook-form';
import type { Schemas } from '../../api/types.ts';
import { Field } from '../../components/ui.tsx';

export type Destination = Schemas['Destination'];
export type Kind = Destination['kind'];

export const KINDS: Record<Kind, string> = {
  thinkific: 'Thinkific',
  scim: 'SCIM 2.0 app',
  webhook: 'Signed webhook',
};

export const REMOVAL_ACTIONS: Record<Destination['policy']['onRemoval'][number], string> = {
  expire_enrollments: 'expire their enrollments',
  remove_from_groups: 'remove them from LMS groups',
  suspend: 'suspend the account',
  delete: 'delete the account',
};

/** The inputs as typed, by key (`subdomain`, `apiKey`, ...); a form keeps them under `values`. */
export type KindValues = Record<string, string>;

/** The settings and write-only credential inputs of one kind of destination. */
export function KindFields({
  kind,
  register,
  editing,
}: {
  kind: Kind;
  /** The form's `register`, for its `values` record of text inputs. */
  register: (name: `values.${string}`) => UseFormRegisterReturn;
  editing: boolean;
}) {
  const input = (key: string, label: string, hint?: string, secret = false) => (
    <Field label={label} htmlFor={`dest-${key}`} hint={hint}>
      <input
        id={`dest-${key}`}
        type={secret ? 'password' : 'text'}
        autoComplete="off"
        {...register(`values.${key}`)}
        placeholder={secret && editing ? 'unchanged (write-only)' : undefined}
      />
    </Field>
  );
  if (kind === 'thinkific') {
    return (
      <div className="grid2">
        {input('subdomain', 'Site subdomain', 'e.g. "acme" for acme.thinkific.com')}
        {input('baseUrl', 'API base URL', 'Default https://api.thinkific.com/api/public/v1')}
        {input(
          'apiKey',
          'API key',
          'Private app API key; stored encrypted, never shown again. Also signs the SSO handoffs to this site.',
          true,
        )}
        <Field
          label="RateLimit-Reset counts in"
          htmlFor="dest-rateLimitReset"
          hint="How the site's 429 answers say when to retry. Automatic learns it from the values the site sends."
        >
          <select id="dest-rateLimitReset" {...register('values.rateLimitReset')}>
            <option value="">automatic</option>
            <option value="seconds">seconds until the reset</option>
            <option value="milliseconds">milliseconds until the reset</option>
          </select>
        </Field>
      </div>
    );
  }
  if (kind === 'scim') {
    return (
      <div className="grid2">
        {input('baseUrl', 'SCIM base URL', 'Ends in /scim/v2')}
        {input('token', 'Bearer token', 'Stored encrypted, never shown again.', true)}
      </div>
    );
  }
  return (
    <div className="grid2">
      {input('url', 'Webhook URL', 'Commands are POSTed here, signed (Standard Webhooks).')}
      {input('secret', 'Signing secret', 'whsec_…; leave empty to have one generated.', true)}
    </div>
  );
}

/** What was typed, as the destination's settings and credentials (empty inputs left out). */
export function splitValues(kind: Kind, values: KindValues) {
  const pick = (keys: string[]) =>
    Object.fromEntries(keys.filter((key) => values[key]?.trim()).map((key) => [key, values[key]?.trim()]));
  if (kind === 'thinkific')
    return { settings: pick(['subdomain', 'baseUrl', 'rateLimitReset']), credentials: pick(['apiKey']) };
  if (kind === 'scim') return { settings: pick(['baseUrl']), credentials: pick(['token']) };
  return { settings: pick(['url']), credentials: pick(['secret']) };
}
