/** Signing in: SSO through Switchboard's own provider, or the one-time bootstrap link. */
import { useApiMutation } from '../api/queries.ts';
import { signInWithLink } from '../api/session.ts';
import { Button, ErrorBox } from '../components/ui.tsx';

const MESSAGES: Record<string, string> = {
  not_a_console_member: 'You signed in, but you have no console role yet.',
  console_sign_in_not_started: 'The sign-in was not started in this browser, or took more than 10 minutes.',
};

export function SignInPage() {
  const search = new URLSearchParams(window.location.search);
  const error = search.get('error');
  const message = search.get('message');
  const returnTo = search.get('returnTo') ?? '/admin/';
  return (
    <main className="center">
      <div className="card sign-in">
        <h1>Switchboard console</h1>
        {search.get('signedOut') ? <p className="notice">You are signed out.</p> : null}
        {error ? (
          <div className="error" role="alert">
            <strong>{MESSAGES[error] ?? 'Sign-in did not complete.'}</strong>
            {message ? <div>{message}</div> : null}
            <div className="fix">
              {error === 'not_a_console_member'
                ? 'Ask a console owner to grant you a role under Console people, then sign in again.'
                : 'Sign in again below.'}
            </div>
          </div>
        ) : null}
        <p>Sign in with your company account (single sign-on).</p>
        <div className="actions">
          <a className="button primary" href={`/admin/auth/login?returnTo=${encodeURIComponent(returnTo)}`}>
            Sign in with SSO
          </a>
          {error ? (
            <a
              className="button secondary"
              href={`/admin/auth/login?prompt=login&returnTo=${encodeURIComponent(returnTo)}`}
            >
              Sign in as someone else
            </a>
          ) : null}
        </div>
        <p className="muted small">
          First time? On the hub, run <code>switchboard admin login-link</code> and open the link it prints.
        </p>
        <nav className="muted small" aria-label="Elsewhere on this hub">
          Not staff? People of a client organization sign in at <a href="/login">/login</a>. Integrating an
          application? The API reference is at <a href="/docs">/docs</a>.
        </nav>
      </div>
    </main>
  );
}

export function LinkSignInPage() {
  const token = window.location.hash.slice(1);
  const signIn = useApiMutation(() => signInWithLink(token), {
    onSuccess: () => {
      window.history.replaceState(null, '', '/admin/');
      window.location.assign('/admin/organizations');
    },
  });
  return (
    <main className="center">
      <div className="card sign-in">
        <h1>Sign in with a one-time link</h1>
        {token ? (
          <>
            <p>This link signs you in once as the console owner. It stops working when used or expired.</p>
            <Button
              className="primary"
              // Busy until the next page loads.
              busy={signIn.isPending || signIn.isSuccess}
              busyLabel="Signing in…"
              onClick={() => signIn.mutate()}
            >
              Sign in as owner
            </Button>
          </>
        ) : (
          <p className="error">
            This link is incomplete: copy the whole line printed by <code>switchboard admin login-link</code>.
          </p>
        )}
        <ErrorBox error={signIn.error} />
      </div>
    </main>
  );
}
