/** One organization at a glance: logins, active users, provisioning, sync freshness, what needs attention. */
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { apiQuery } from '../api/queries.ts';
import type { Schemas } from '../api/types.ts';
import type { PageProps } from '../app.tsx';
import { LineChart, RateRing, StackedBars } from '../components/charts.tsx';
import { Badge, Empty, Loader, PageHeader, StatusBadge, when } from '../components/ui.tsx';
import { Link } from '../router.tsx';

type Overview = Schemas['OrganizationOverview'];

const GREEN = '#2f855a';
const RED = '#c53030';
const BLUE = '#1f5fbf';

/** Where an attention item leads: its resource, by name, or the login traces of a failure. */
function attentionLink(org: string, item: Overview['attention'][number]) {
  if (item.loginTraces) {
    const query = new URLSearchParams({
      status: item.loginTraces.status,
      errorCode: item.loginTraces.errorCode,
    });
    return <Link to={`/admin/o/${org}/traces?${query}`}>Open the login traces</Link>;
  }
  const resource = item.resource;
  if (!resource) return null;
  const paths: Record<string, string> = {
    connection: `/admin/o/${org}/connections/${resource.id}`,
    directory: `/admin/o/${org}/directories/${resource.id}`,
    user: `/admin/o/${org}/users/${resource.id}`,
  };
  const to = paths[resource.type];
  if (!to) return null;
  return (
    <Link to={to}>
      Open {resource.type}
      {resource.name ? ` “${resource.name}”` : ''}
    </Link>
  );
}

function ms(value: number | null): string {
  if (value === null) return '—';
  return value >= 1000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

export function OverviewPage({ params }: PageProps) {
  const org = params.org ?? '';
  const [days, setDays] = useState(30);
  const overview = useQuery(
    apiQuery('/api/v1/organizations/{org}/overview', { params: { path: { org }, query: { days } } }),
  );
  return (
    <>
      <PageHeader
        title="Overview"
        subtitle={
          overview.data ? `${overview.data.organization.name}, the last ${days} days (UTC)` : undefined
        }
        actions={
          <label className="row">
            Window
            <select value={days} onChange={(e) => setDays(Number(e.target.value))}>
              <option value={7}>7 days</option>
              <option value={30}>30 days</option>
              <option value={90}>90 days</option>
            </select>
          </label>
        }
      />
      <Loader state={overview} label="Counting logins, syncs and provisioning…">
        {(o) => {
          const labels = o.logins.days.map((d) => d.date);
          return (
            <>
              <section className="card" aria-labelledby="attention-title">
                <h2 id="attention-title">Needs attention</h2>
                {o.attention.length === 0 ? (
                  <Empty title="Nothing needs attention.">
                    No expiring certificates, failing logins, stale directories or dead letters.
                  </Empty>
                ) : (
                  <ul className="attention">
                    {o.attention.map((item) => (
                      <li
                        key={`${item.code}-${item.resource?.id ?? ''}`}
                        className={item.severity === 'error' ? 'error' : 'warning'}
                      >
                        <div className="row">
                          <Badge tone={item.severity === 'error' ? 'bad' : 'warn'}>{item.severity}</Badge>
                          <span>{item.message}</span>
                        </div>
                        {attentionLink(o.organization.slug, item)}
                      </li>
                    ))}
                  </ul>
                )}
              </section>
              <div className="rings">
                <RateRing
                  label="Login success"
                  rate={o.logins.successRate}
                  detail={`${o.logins.succeeded} succeeded, ${o.logins.failed} failed`}
                />
                <RateRing
                  label="Provisioning success"
                  rate={o.provisioning.successRate}
                  detail={`${o.provisioning.succeeded} succeeded, ${o.provisioning.failed} failed`}
                />
                <div className="stat">
                  <strong>{o.activeUsers}</strong>
                  <span className="muted">active users</span>
                </div>
                <div className="stat">
                  <strong>{ms(o.provisioning.latencyMs.p50)}</strong>
                  <span className="muted">provisioning p50 (p95 {ms(o.provisioning.latencyMs.p95)})</span>
                </div>
                <div className="stat">
                  <strong>{o.deadLetters.total}</strong>
                  <span className="muted">dead letters</span>
                </div>
              </div>
              <section className="card charts">
                <StackedBars
                  title="Logins per day"
                  labels={labels}
                  series={[
                    { label: 'Succeeded', color: GREEN, values: o.logins.days.map((d) => d.succeeded) },
                    { label: 'Failed', color: RED, values: o.logins.days.map((d) => d.failed) },
                  ]}
                />
                <LineChart
                  title="Active users per day"
                  labels={labels}
                  series={[
                    {
                      label: 'Active users',
                      color: BLUE,
                      values: o.logins.days.map((d) => d.activeUsers ?? 0),
                    },
                  ]}
                />
                {o.provisioning.succeeded + o.provisioning.failed > 0 ? (
                  <StackedBars
                    title="Provisioning per day"
                    labels={o.provisioning.days.map((d) => d.date)}
                    series={[
                      {
                        label: 'Succeeded',
                        color: GREEN,
                        values: o.provisioning.days.map((d) => d.succeeded),
                      },
                      { label: 'Failed', color: RED, values: o.provisioning.days.map((d) => d.failed) },
                    ]}
                  />
                ) : (
                  <figure className="chart">
                    <figcaption>Provisioning per day</figcaption>
                    <Empty title="No provisioning in this window.">
                      Accounts and enrollments pushed to destinations appear here once rules provision people.
                    </Empty>
                  </figure>
                )}
              </section>
              <div className="grid2">
                <section className="card" aria-labelledby="fail-title">
                  <h2 id="fail-title">Why logins failed</h2>
                  {o.logins.failedByReason.length === 0 ? (
                    <Empty title="No failed logins." />
                  ) : (
                    <ReasonBars items={o.logins.failedByReason} />
                  )}
                </section>
                <section className="card" aria-labelledby="fresh-title">
                  <h2 id="fresh-title">Directory sync freshness</h2>
                  {o.directories.length === 0 ? (
                    <Empty title="No directories.">
                      <Link to={`/admin/o/${o.organization.slug}/directories`}>Create a SCIM directory</Link>
                    </Empty>
                  ) : (
                    <ul className="plain">
                      {o.directories.map((d) => (
                        <li key={d.id} className="row">
                          <Link to={`/admin/o/${o.organization.slug}/directories/${d.id}`}>{d.name}</Link>
                          <StatusBadge
                            status={
                              d.freshness === 'fresh'
                                ? 'active'
                                : d.freshness === 'never'
                                  ? 'never used'
                                  : d.freshness
                            }
                          />
                          <span className="muted small">last activity {when(d.lastActivityAt)}</span>
                        </li>
                      ))}
                    </ul>
                  )}
                  {o.certificates.length ? (
                    <>
                      <h3>Certificates</h3>
                      <ul className="plain">
                        {o.certificates.map((c) => (
                          <li key={c.connectionId + c.subject} className="row">
                            <Link to={`/admin/o/${o.organization.slug}/connections/${c.connectionId}`}>
                              {c.connectionName}
                            </Link>
                            <StatusBadge status={c.status} />
                            <span className="muted small">until {when(c.notAfter)}</span>
                          </li>
                        ))}
                      </ul>
                    </>
                  ) : null}
                </section>
              </div>
            </>
          );
        }}
      </Loader>
    </>
  );
}

function ReasonBars({ items }: { items: Array<{ code: string; count: number }> }) {
  const max = Math.max(...items.map((i) => i.count));
  return (
    <ul className="reasons">
      {items.map((item) => (
        <li key={item.code}>
          <span className="mono small">{item.code}</span>
          <span className="bar" aria-hidden="true">
            <span style={{ width: `${(item.count / max) * 100}%` }} />
          </span>
          <span>{item.count}</span>
        </li>
      ))}
    </ul>
  );
}
