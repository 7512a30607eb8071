/** A test login: opens the login in a new tab, then follows its trace here until it ends. */
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { apiQuery } from '../../api/queries.ts';
import { ErrorBox, Spinner, StatusBadge } from '../../components/ui.tsx';
import { Link } from '../../router.tsx';
import { TraceSteps } from '../traces.tsx';
import type { Connection } from './presets.ts';

export function TestLogin({ org, connection }: { org: string; connection: Connection }) {
  const [startedAt, setStartedAt] = useState<number | undefined>();
  // The newest trace of this connection since the click, read until it ends (or a read fails).
  const traces = useQuery({
    ...apiQuery('/api/v1/organizations/{org}/login-traces', {
      params: {
        path: { org },
        query: {
          connection: connection.id,
          limit: 1,
          since: new Date((startedAt ?? 0) - 5000).toISOString(),
        },
      },
    }),
    enabled: startedAt !== undefined,
    placeholderData: undefined,
    refetchInterval: (query) =>
      query.state.status === 'error' || (query.state.data?.data[0]?.status ?? 'started') !== 'started'
        ? false
        : 1500,
  });
  const trace = startedAt === undefined ? undefined : traces.data?.data[0];
  const error = startedAt === undefined ? null : traces.error;
  return (
    <section className="card" aria-labelledby="test-title">
      <h2 id="test-title">Test login</h2>
      <p className="muted">
        Opens a login on this connection in a new tab. Sign in there; the result appears here.
      </p>
      <div className="actions">
        <button
          type="button"
          className="primary"
          disabled={!connection.active}
          onClick={() => {
            setStartedAt(Date.now());
            window.open(connection.loginUrl, '_blank', 'noopener');
          }}
        >
          Run a test login
        </button>
        {!connection.active ? (
          <span className="muted">{connection.inactiveReason ?? 'The connection is not active.'}</span>
        ) : null}
      </div>
      <ErrorBox error={error} />
      {startedAt !== undefined && (!trace || trace.status === 'started') ? (
        <Spinner
          label={trace ? 'Login in progress in the other tab…' : 'Waiting for the login in the other tab…'}
        />
      ) : null}
      {trace ? (
        <div className="trace-result" data-testid="test-login-result">
          <div className="row">
            <StatusBadge status={trace.status} />
            <Link to={`/admin/o/${org}/traces/${trace.id}`} className="mono">
              {trace.id}
            </Link>
            {trace.email ? <span>{trace.email}</span> : null}
          </div>
          {trace.reason ? <div className="error">{trace.reason}</div> : null}
          <TraceSteps steps={trace.steps} />
        </div>
      ) : null}
    </section>
  );
}
