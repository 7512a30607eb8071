/** An organization's email domains: the TXT record to publish, the DNS check, other claims. */
import { useForm } from 'react-hook-form';
import { client, unwrap } from '../../api/client.ts';
import { useApiMutation } from '../../api/queries.ts';
import type { Schemas } from '../../api/types.ts';
import { Button, CopyField, Empty, ErrorBox, StatusBadge, when } from '../../components/ui.tsx';
import { Link } from '../../router.tsx';

type Organization = Schemas['Organization'];
type Domain = Schemas['OrganizationDomain'];

export function Domains({
  org,
  reload,
  canEdit,
}: {
  org: Organization;
  reload: () => void;
  canEdit: boolean;
}) {
  const form = useForm({ defaultValues: { domain: '' } });
  const path = (domain: string) => ({ params: { path: { org: org.id, domain } } });
  const add = useApiMutation(
    (domain: string) =>
      unwrap(
        client.POST('/api/v1/organizations/{org}/domains', {
          params: { path: { org: org.id } },
          body: { domain },
        }),
      ),
    {
      onSuccess: () => {
        form.reset();
        reload();
      },
    },
  );
  // A check or a removal reads the organization again whatever the outcome (a failed check is recorded).
  const verify = useApiMutation(
    (domain: string) =>
      unwrap(
        client.POST('/api/v1/organizations/{org}/domains/{domain}/verify', {
          ...path(domain),
          body: { method: 'dns' },
        }),
      ),
    { onSettled: reload },
  );
  const remove = useApiMutation(
    (domain: string) => unwrap(client.DELETE('/api/v1/organizations/{org}/domains/{domain}', path(domain))),
    { onSettled: reload },
  );
  return (
    <section className="card" aria-labelledby="domains-title">
      <h2 id="domains-title">Domains</h2>
      <p className="muted">
        People sign in by email: their domain must be verified. Ask the client to publish the TXT record, then
        check.
      </p>
      {org.domains.length === 0 ? (
        <Empty title="No domains yet.">Add the email domains the client owns.</Empty>
      ) : null}
      <ul className="domain-list">
        {org.domains.map((d) => (
          <li key={d.id} className="domain">
            <div className="row">
              <strong>{d.domain}</strong>
              <StatusBadge status={d.verified ? 'verified' : 'unverified'} />
              {d.lastCheckedAt ? <span className="muted small">checked {when(d.lastCheckedAt)}</span> : null}
            </div>
            {d.lastCheckError && !d.verified ? <div className="warn-text">{d.lastCheckError}</div> : null}
            <OtherClaims domain={d} />
            {!d.verified ? (
              <div className="grid2">
                <CopyField label="TXT record name" value={d.verification.name} />
                <CopyField label="TXT record value" value={d.verification.value} />
              </div>
            ) : null}
            {canEdit ? (
              <div className="actions">
                {!d.verified ? (
                  <Button
                    className="secondary"
                    busy={verify.isPending}
                    busyLabel="Checking DNS…"
                    onClick={() => verify.mutate(d.domain)}
                  >
                    Check DNS now
                  </Button>
                ) : null}
                <Button
                  className="danger"
                  busy={remove.isPending}
                  onClick={() => {
                    if (!window.confirm(`Remove ${d.domain}? People on it can no longer sign in by email.`))
                      return;
                    remove.mutate(d.domain);
                  }}
                >
                  Remove
                </Button>
              </div>
            ) : null}
          </li>
        ))}
      </ul>
      <ErrorBox error={verify.error ?? remove.error} />
      {canEdit ? (
        <form className="toolbar" onSubmit={form.handleSubmit(({ domain }) => add.mutate(domain))}>
          <label htmlFor="new-domain" className="visually-hidden">
            New domain
          </label>
          <input id="new-domain" placeholder="example.com" {...form.register('domain')} required />
          <Button type="submit" className="secondary" busy={add.isPending}>
            Add domain
          </Button>
        </form>
      ) : null}
      <ErrorBox error={add.error} />
    </section>
  );
}

/**
 * Other organizations holding the same domain: the one that verified it (then this organization
 * can never verify it), or pending claims (the first to verify wins, the others stay unverified).
 */
function OtherClaims({ domain }: { domain: Domain }) {
  const claims = domain.otherClaims ?? [];
  if (claims.length === 0) return null;
  const owner = claims.find((claim) => claim.verified);
  const pending = claims.filter((claim) => !claim.verified);
  const link = (claim: (typeof claims)[number]) => (
    <Link key={claim.organizationId} to={`/admin/o/${claim.slug}/settings`}>
      {claim.name}
    </Link>
  );
  return (
    <div className="other-claims" data-testid="other-claims">
      {owner ? (
        <div className="warn-text">
          Verified by {link(owner)}: logins on {domain.domain} go there, and this organization cannot verify
          it.
        </div>
      ) : null}
      {pending.length ? (
        <div className={domain.verified ? 'muted small' : 'warn-text'}>
          Also claimed, not verified, by{' '}
          {pending.map((claim, index) => (
            <span key={claim.organizationId}>
              {index ? ', ' : ''}
              {link(claim)}
            </span>
          ))}
          {domain.verified ? '.' : ': whichever organization verifies it first gets it.'}
        </div>
      ) : null}
    </div>
  );
}
