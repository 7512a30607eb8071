/** "Test connection": signs in and reads one record; says what to do when that fails. */
import { client, unwrap } from '../../api/client.ts';
import { useApiMutation } from '../../api/queries.ts';
import { Button, ErrorBox, Spinner } from '../../components/ui.tsx';
import { connectionFix } from '../../hr-forms.ts';

export function ConnectionTest({
  org,
  id,
  displayName,
  disabled,
}: {
  org: string;
  id: string;
  displayName: string;
  disabled?: boolean;
}) {
  // A new test clears the last result (a new mutation starts without data).
  const test = useApiMutation(() =>
    unwrap(
      client.POST('/api/v1/organizations/{org}/hris/directories/{id}/test', {
        params: { path: { org, id } },
      }),
    ),
  );
  const result = test.data;
  return (
    <div className="connection-test">
      <Button
        className="secondary"
        busy={test.isPending}
        busyLabel="Testing connection…"
        disabled={disabled}
        onClick={() => test.mutate()}
      >
        Test connection
      </Button>
      <div aria-live="polite">
        {test.isPending ? (
          <Spinner label={`Signing in to ${displayName} and reading one record…`} />
        ) : result?.ok ? (
          <div className="notice ok-text" role="status">
            Connection works: {result.detail}
          </div>
        ) : null}
      </div>
      {result && !result.ok ? (
        <div className="error" role="alert">
          <strong>Connection failed: {result.detail}</strong>
          <div className="fix">{connectionFix(result.code, displayName)}</div>
          {result.code ? <div className="muted small">{result.code}</div> : null}
        </div>
      ) : null}
      <ErrorBox error={test.error} />
    </div>
  );
}
