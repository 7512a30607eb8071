/**
 * The console shell: session, navigation and routes. Pages that belong to one organization live
 * under /admin/o/:org/...; the organization picker in the header switches between them.
 *
 * Navigation is declared in `ORG_NAV` and `GLOBAL_NAV`: a new area (rules and destinations,
 * imports, HR connectors) adds one entry and one route below, and its page under pages/ (a folder
 * of components when it has several pages or editors).
 */
import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { toApiError } from './api/errors.ts';
import { apiQuery } from './api/queries.ts';
import { loadSession, type Session, signOut } from './api/session.ts';
import { ErrorBox, Spinner } from './components/ui.tsx';
import { AuditPage } from './pages/audit.tsx';
import { ConnectionDetailPage } from './pages/connections/detail.tsx';
import { ConnectionsPage } from './pages/connections/list.tsx';
import { NewConnectionPage } from './pages/connections/new.tsx';
import { DirectoriesPage, DirectoryDetailPage } from './pages/directories.tsx';
import { HrConnectorDetailPage } from './pages/hr-connectors/detail.tsx';
import { HrSettingsPage } from './pages/hr-connectors/hr-settings.tsx';
import { HrRunPage } from './pages/hr-connectors/run.tsx';
import { ImportDetailPage } from './pages/imports/detail.tsx';
import { ImportsPage } from './pages/imports/list.tsx';
import { OrganizationsPage } from './pages/organizations/list.tsx';
import { OrganizationPage } from './pages/organizations/settings.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { PeoplePage } from './pages/people.tsx';
import { DestinationDetailPage } from './pages/provisioning/destination-detail.tsx';
import { DestinationsPage } from './pages/provisioning/destinations.tsx';
import { RulesPage } from './pages/provisioning/rules.tsx';
import { SetupLinksPage } from './pages/setup-links.tsx';
import { LinkSignInPage, SignInPage } from './pages/sign-in.tsx';
import { TraceDetailPage, TraceLookupPage, TracesPage } from './pages/traces.tsx';
import { UserDetailPage, UsersPage } from './pages/users.tsx';
import { Link, match, navigate, useLocation } from './router.tsx';

export interface PageProps {
  session: Session;
  params: Record<string, string>;
}

interface RouteDef {
  pattern: string;
  render: (props: PageProps) => ReactNode;
}

const ROUTES: RouteDef[] = [
  { pattern: '/admin', render: (p) => <OrganizationsPage {...p} /> },
  { pattern: '/admin/organizations', render: (p) => <OrganizationsPage {...p} /> },
  { pattern: '/admin/traces', render: (p) => <TraceLookupPage {...p} /> },
  { pattern: '/admin/people', render: (p) => <PeoplePage {...p} /> },
  { pattern: '/admin/audit', render: (p) => <AuditPage {...p} /> },
  { pattern: '/admin/o/:org', render: (p) => <OverviewPage {...p} /> },
  { pattern: '/admin/o/:org/settings', render: (p) => <OrganizationPage {...p} /> },
  { pattern: '/admin/o/:org/setup-links', render: (p) => <SetupLinksPage {...p} /> },
  { pattern: '/admin/o/:org/audit', render: (p) => <AuditPage {...p} /> },
  { pattern: '/admin/o/:org/connections', render: (p) => <ConnectionsPage {...p} /> },
  { pattern: '/admin/o/:org/connections/new', render: (p) => <NewConnectionPage {...p} /> },
  { pattern: '/admin/o/:org/connections/:id', render: (p) => <ConnectionDetailPage {...p} /> },
  { pattern: '/admin/o/:org/directories', render: (p) => <DirectoriesPage {...p} /> },
  { pattern: '/admin/o/:org/directories/:id', render: (p) => <DirectoryDetailPage {...p} /> },
  { pattern: '/admin/o/:org/directories/hr/:id', render: (p) => <HrConnectorDetailPage {...p} /> },
  {
    pattern: '/admin/o/:org/directories/hr/:id/runs/:runId',
    render: (p) => <HrRunPage {...p} />,
  },
  { pattern: '/admin/o/:org/hr-settings', render: (p) => <HrSettingsPage {...p} /> },
  { pattern: '/admin/o/:org/destinations', render: (p) => <DestinationsPage {...p} /> },
  { pattern: '/admin/o/:org/destinations/:id', render: (p) => <DestinationDetailPage {...p} /> },
  { pattern: '/admin/o/:org/rules', render: (p) => <RulesPage {...p} /> },
  { pattern: '/admin/o/:org/imports', render: (p) => <ImportsPage {...p} /> },
  { pattern: '/admin/o/:org/imports/:id', render: (p) => <ImportDetailPage {...p} /> },
  { pattern: '/admin/o/:org/users', render: (p) => <UsersPage {...p} /> },
  { pattern: '/admin/o/:org/users/:id', render: (p) => <UserDetailPage {...p} /> },
  { pattern: '/admin/o/:org/traces', render: (p) => <TracesPage {...p} /> },
  { pattern: '/admin/o/:org/traces/:id', render: (p) => <TraceDetailPage {...p} /> },
];

const ORG_NAV = [
  { path: '', label: 'Overview' },
  { path: '/settings', label: 'Settings' },
  { path: '/connections', label: 'SSO connections' },
  { path: '/directories', label: 'Directories' },
  { path: '/hr-settings', label: 'HR settings' },
  { path: '/setup-links', label: 'Setup links' },
  { path: '/destinations', label: 'Destinations' },
  { path: '/rules', label: 'Provisioning rules' },
  { path: '/imports', label: 'Imports' },
  { path: '/users', label: 'Users' },
  { path: '/traces', label: 'Login traces' },
  { path: '/audit', label: 'Audit log' },
];

const GLOBAL_NAV = [
  { path: '/admin/organizations', label: 'Organizations' },
  { path: '/admin/traces', label: 'Find a trace' },
  { path: '/admin/audit', label: 'Audit log' },
  { path: '/admin/people', label: 'Console people' },
];

export function App() {
  const { path } = useLocation();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [failure, setFailure] = useState<Error | undefined>();

  useEffect(() => {
    loadSession(() => setSession(null)).then(
      (found) => setSession(found ?? null),
      (error: Error) => setFailure(error),
    );
  }, []);

  if (path.startsWith('/admin/sign-in/link')) return <LinkSignInPage />;
  if (path.startsWith('/admin/sign-in')) return <SignInPage />;
  if (failure) return <ErrorBox error={toApiError(failure)} />;
  if (session === undefined) {
    return (
      <main className="center">
        <Spinner label="Checking your session…" />
      </main>
    );
  }
  if (session === null) {
    const returnTo = `${window.location.pathname}${window.location.search}`;
    navigate(`/admin/sign-in?returnTo=${encodeURIComponent(returnTo)}`, { replace: true });
    return null;
  }
  return <Shell session={session} path={path} />;
}

function Shell({ session, path }: { session: Session; path: string }) {
  const [menuOpen, setMenuOpen] = useState(false);
  // On a narrow screen the menu opens over the page: move focus to its first link.
  useEffect(() => {
    if (menuOpen) document.querySelector<HTMLAnchorElement>('#sidebar a')?.focus();
  }, [menuOpen]);
  const org = /^\/admin\/o\/([^/]+)/.exec(path)?.[1];
  let content: ReactNode = (
    <div className="empty">
      <strong>No page here</strong>
      <div>
        <Link to="/admin/organizations">Go to organizations</Link>
      </div>
    </div>
  );
  for (const route of ROUTES) {
    const params = match(route.pattern, path);
    if (params) {
      content = route.render({ session, params });
      break;
    }
  }
  const leave = async () => {
    await signOut().catch(() => undefined);
    window.location.assign('/admin/sign-in?signedOut=1');
  };
  const navLink = (to: string, label: string, exact = false) => {
    const active = exact ? path === to : path === to || path.startsWith(`${to}/`);
    return (
      <Link
        key={to}
        to={to}
        className={active ? 'nav-link active' : 'nav-link'}
        aria-current={active ? 'page' : undefined}
        onClick={() => setMenuOpen(false)}
      >
        {label}
      </Link>
    );
  };
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <button
          type="button"
          className="menu-toggle secondary"
          aria-expanded={menuOpen}
          aria-controls="sidebar"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
        <Link to="/admin/organizations" className="brand">
          Switchboard
        </Link>
        <OrgPicker current={org} />
        <div className="who">
          <span title={session.person.email ?? ''}>{session.person.name}</span>
          <span className="badge neutral">{session.role}</span>
          <button type="button" className="secondary" onClick={leave}>
            Sign out
          </button>
        </div>
      </header>
      <nav id="sidebar" className={menuOpen ? 'sidebar open' : 'sidebar'} aria-label="Console">
        <div className="nav-group">{GLOBAL_NAV.map((item) => navLink(item.path, item.label))}</div>
        {org ? (
          <div className="nav-group">
            <div className="nav-title">Organization</div>
            {ORG_NAV.map((item) => navLink(`/admin/o/${org}${item.path}`, item.label, item.path === ''))}
          </div>
        ) : null}
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        {session.method === 'login_link' ? (
          <div className="notice">
            You are signed in with a one-time bootstrap link. Grant yourself a role under{' '}
            <Link to="/admin/people">Console people</Link> and sign in with SSO from now on.
          </div>
        ) : null}
        {content}
      </main>
    </div>
  );
}

function OrgPicker({ current }: { current: string | undefined }) {
  const list = useQuery(apiQuery('/api/v1/organizations', { params: { query: { limit: 200 } } }));
  const orgs = list.error ? [] : (list.data?.data ?? []);
  const { refetch } = list;
  // Reads again on navigation, to list a just-created organization.
  const shown = useRef(current);
  useEffect(() => {
    if (shown.current === current) return;
    shown.current = current;
    void refetch();
  }, [current, refetch]);
  return (
    <label className="org-picker">
      <span className="visually-hidden">Organization</span>
      <select
        value={current ?? ''}
        onChange={(event) => {
          const next = event.target.value;
          if (!next) return navigate('/admin/organizations');
          const rest = window.location.pathname.replace(/^\/admin\/o\/[^/]+/, '');
          const section = current ? (rest.split('/')[1] ?? '') : '';
          navigate(`/admin/o/${next}${section ? `/${section}` : ''}`);
        }}
      >
        <option value="">All organizations</option>
        {orgs.map((org) => (
          <option key={org.id} value={org.slug}>
            {/* Two organizations with one name are told apart by their slugs. */}
            {orgs.some((other) => other.id !== org.id && sameName(other.name, org.name))
              ? `${org.name} (${org.slug})`
              : org.name}
          </option>
        ))}
      </select>
    </label>
  );
}

function sameName(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}
