/** A new SSO connection from a preset: guided fields, metadata by URL, file or pasted XML, or OIDC. */
import { zodResolver } from '@hookform/resolvers/zod';
import { useQuery } from '@tanstack/react-query';
import { useForm } from 'react-hook-form';
import { z } from 'zod/mini';
import { client, unwrap } from '../../api/client.ts';
import { apiQuery, useApiMutation } from '../../api/queries.ts';
import type { Schemas } from '../../api/types.ts';
import type { PageProps } from '../../app.tsx';
import { Button, ErrorBox, Field, PageHeader } from '../../components/ui.tsx';
import { Link, navigate } from '../../router.tsx';
import { type Connection, PRESETS } from './presets.ts';

type Preset = Connection['preset'];

const connectionForm = z.object({
  preset: z.enum(['entra', 'okta', 'ping', 'google', 'adfs', 'generic']),
  protocol: z.enum(['oidc', 'saml']),
  name: z.string(),
  testIdp: z.boolean(),
  metadataSource: z.enum(['url', 'file', 'paste']),
  metadataUrl: z.string(),
  /** The uploaded file's text, read when it is chosen. */
  metadataXml: z.string(),
  pastedXml: z.string(),
  fileName: z.string(),
  discoveryUrl: z.string(),
  clientId: z.string(),
  clientSecret: z.string(),
  tenantId: z.string(),
});
type ConnectionForm = z.infer<typeof connectionForm>;

/** The connection as the API takes it: the test IdP, SAML metadata from where it was given, or OIDC. */
function connectionBody(values: ConnectionForm): Schemas['CreateConnectionInput'] {
  const { preset, protocol, metadataSource } = values;
  const name = values.name || `${PRESETS[preset].label} ${protocol.toUpperCase()}`;
  if (values.testIdp) return { name, protocol: 'saml', preset, testIdp: true };
  if (protocol === 'saml') {
    return {
      name,
      protocol,
      preset,
      saml:
        metadataSource === 'url'
          ? { metadataUrl: values.metadataUrl }
          : { metadataXml: metadataSource === 'paste' ? values.pastedXml : values.metadataXml },
    };
  }
  return {
    name,
    protocol,
    preset,
    oidc: {
      discoveryUrl: values.discoveryUrl,
      clientId: values.clientId,
      ...(values.clientSecret ? { clientSecret: values.clientSecret } : {}),
      ...(preset === 'entra' && values.tenantId ? { tenantId: values.tenantId } : {}),
    },
  };
}

export function NewConnectionPage({ params }: PageProps) {
  const org = params.org ?? '';
  const organization = useQuery(apiQuery('/api/v1/organizations/{org}', { params: { path: { org } } }));
  const form = useForm<ConnectionForm>({
    resolver: zodResolver(connectionForm),
    defaultValues: {
      preset: 'generic',
      protocol: 'saml',
      name: '',
      testIdp: false,
      metadataSource: 'url',
      metadataUrl: '',
      metadataXml: '',
      pastedXml: '',
      fileName: '',
      discoveryUrl: '',
      clientId: '',
      clientSecret: '',
      tenantId: '',
    },
  });
  const { preset, protocol, testIdp, metadataSource, metadataXml, fileName } = form.watch();
  const info = PRESETS[preset];
  const sandbox = organization.data?.environment === 'sandbox';

  const create = useApiMutation(
    (body: Schemas['CreateConnectionInput']) =>
      unwrap(client.POST('/api/v1/organizations/{org}/connections', { params: { path: { org } }, body })),
    { onSuccess: (created) => navigate(`/admin/o/${org}/connections/${created.id}`) },
  );

  const submit = form.handleSubmit((values) => create.mutate(connectionBody(values)));

  return (
    <>
      <PageHeader
        title="New SSO connection"
        subtitle="Pick the client's identity provider; we guide the rest."
      />
      <form className="card form" onSubmit={submit} aria-label="New SSO connection">
        <div className="grid2">
          <Field label="Identity provider" htmlFor="c-preset">
            <select
              id="c-preset"
              {...form.register('preset', {
                onChange: (e) => {
                  const protocols = PRESETS[e.target.value as Preset]?.protocols ?? ['saml'];
                  if (!protocols.includes(protocol)) form.setValue('protocol', protocols[0] ?? 'saml');
                },
              })}
            >
              {Object.entries(PRESETS).map(([key, value]) => (
                <option key={key} value={key}>
                  {value.label}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Protocol" htmlFor="c-protocol">
            <select
              id="c-protocol"
              value={testIdp ? 'saml' : protocol}
              disabled={testIdp}
              onChange={(e) => form.setValue('protocol', e.target.value as 'oidc' | 'saml')}
            >
              {info.protocols.map((p) => (
                <option key={p} value={p}>
                  {p.toUpperCase()}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Name" htmlFor="c-name" hint="Shown in the connection picker and in traces.">
            <input
              id="c-name"
              {...form.register('name')}
              placeholder={`${info.label} ${protocol.toUpperCase()}`}
            />
          </Field>
          {sandbox ? (
            <div className="field checkbox">
              <input id="c-test" type="checkbox" {...form.register('testIdp')} />
              <label htmlFor="c-test">Use the built-in test IdP (sandbox only)</label>
            </div>
          ) : null}
        </div>
        <div className="guide">
          <strong>Setting up {info.label}</strong>
          <p>{info.guide}</p>
          <p className="muted small">
            Our entity ID, ACS URL and redirect URI appear on the next page, ready to copy.
          </p>
        </div>
        {testIdp ? (
          <p className="muted">The test IdP is a real SAML IdP inside the hub: nothing else to fill in.</p>
        ) : protocol === 'saml' ? (
          <fieldset>
            <legend>IdP metadata</legend>
            <div className="radio-row">
              <label>
                <input type="radio" value="url" {...form.register('metadataSource')} /> Metadata URL
              </label>
              <label>
                <input type="radio" value="file" {...form.register('metadataSource')} /> Upload XML file
              </label>
              <label>
                <input type="radio" value="paste" {...form.register('metadataSource')} /> Paste XML
              </label>
            </div>
            {metadataSource === 'url' ? (
              <Field label="Metadata URL" htmlFor="c-meta-url" hint="Fetched now and re-read on refresh.">
                <input
                  id="c-meta-url"
                  type="url"
                  required
                  {...form.register('metadataUrl')}
                  placeholder="https://idp.example.com/metadata.xml"
                />
              </Field>
            ) : metadataSource === 'paste' ? (
              <Field
                label="Metadata XML"
                htmlFor="c-meta-xml"
                hint="The IdP’s federation metadata, as copied from its admin console (starts with <EntityDescriptor or <?xml)."
              >
                <textarea
                  id="c-meta-xml"
                  className="mono"
                  rows={8}
                  required
                  spellCheck={false}
                  {...form.register('pastedXml')}
                />
              </Field>
            ) : (
              <Field
                label="Metadata file"
                htmlFor="c-meta-file"
                hint={
                  fileName
                    ? `Read ${fileName} (${metadataXml.length} characters).`
                    : 'The IdP’s federation metadata XML.'
                }
              >
                <input
                  id="c-meta-file"
                  type="file"
                  accept=".xml,application/xml,text/xml"
                  required
                  onChange={async (e) => {
                    const file = e.target.files?.[0];
                    if (!file) return;
                    form.setValue('fileName', file.name);
                    form.setValue('metadataXml', await file.text());
                  }}
                />
              </Field>
            )}
          </fieldset>
        ) : (
          <fieldset>
            <legend>OIDC client at the IdP</legend>
            <div className="grid2">
              <Field label="Discovery URL (issuer)" htmlFor="c-disc">
                <input
                  id="c-disc"
                  type="url"
                  required
                  {...form.register('discoveryUrl')}
                  placeholder="https://login.example.com"
                />
              </Field>
              {preset === 'entra' ? (
                <Field label="Tenant ID" htmlFor="c-tenant" hint="Pins tokens to this tenant.">
                  <input id="c-tenant" {...form.register('tenantId')} />
                </Field>
              ) : null}
              <Field label="Client ID" htmlFor="c-client">
                <input id="c-client" required {...form.register('clientId')} />
              </Field>
              <Field label="Client secret" htmlFor="c-secret" hint="Stored encrypted; never shown again.">
                <input id="c-secret" type="password" autoComplete="off" {...form.register('clientSecret')} />
              </Field>
            </div>
          </fieldset>
        )}
        <ErrorBox error={create.error} />
        <div className="actions">
          <Button
            type="submit"
            className="primary"
            busy={create.isPending}
            busyLabel="Checking the IdP and saving…"
          >
            Create connection
          </Button>
          <Link className="button secondary" to={`/admin/o/${org}/connections`}>
            Cancel
          </Link>
        </div>
      </form>
    </>
  );
}
