/** Building blocks shared by the pages: progress, errors, empty states, copyable values, forms. */
import { type ButtonHTMLAttributes, type ReactNode, useEffect, useId, useState } from 'react';
import type { ApiError } from '../api/errors.ts';

export function Spinner({ label }: { label: string }) {
  return (
    <div className="progress" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

/** An API error: what happened, the field at fault, and what to do about it. */
export function ErrorBox({ error, onRetry }: { error: ApiError | null | undefined; onRetry?: () => void }) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      <strong>{error.detail}</strong>
      {error.field ? (
        <div>
          Field: <code>{error.field}</code>
        </div>
      ) : null}
      {error.fix ? <div className="fix">{error.fix}</div> : null}
      <div className="muted small">
        {error.code}
        {error.requestId ? ` · request ${error.requestId}` : ''}
      </div>
      {onRetry ? (
        <button type="button" className="secondary" onClick={onRetry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <strong>{title}</strong>
      {children ? <div>{children}</div> : null}
    </div>
  );
}

/** Loading, error or content for one API read (a TanStack Query result). */
export function Loader<T>({
  state,
  label,
  children,
}: {
  state: { data: T | undefined; error: ApiError | null; refetch: () => unknown };
  label: string;
  children: (data: T) => ReactNode;
}) {
  if (state.error) return <ErrorBox error={state.error} onRetry={() => void state.refetch()} />;
  if (state.data === undefined) return <Spinner label={label} />;
  return <>{children(state.data)}</>;
}

export function Button(
  props: ButtonHTMLAttributes<HTMLButtonElement> & { busy?: boolean; busyLabel?: string },
) {
  const { busy, busyLabel, children, disabled, className, ...rest } = props;
  return (
    <button
      type="button"
      {...rest}
      className={className}
      disabled={disabled || busy}
      aria-busy={busy || undefined}
    >
      {busy ? <span className="spinner small" aria-hidden="true" /> : null}
      {busy && busyLabel ? busyLabel : children}
    </button>
  );
}

/** A value to paste into the IdP, with a copy button. */
export function CopyField({ label, value, secret }: { label: string; value: string; secret?: boolean }) {
  const [copied, setCopied] = useState(false);
  const id = useId();
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(timer);
  }, [copied]);
  return (
    <div className="copy-field">
      <label htmlFor={id}>{label}</label>
      <div className="copy-row">
        <input
          id={id}
          readOnly
          value={value}
          className={secret ? 'mono secret' : 'mono'}
          onFocus={(e) => e.target.select()}
        />
        <button
          type="button"
          className="secondary"
          aria-label={`Copy ${label}`}
          onClick={() => {
            void navigator.clipboard?.writeText(value).then(
              () => setCopied(true),
              () => setCopied(false),
            );
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
    </div>
  );
}

export function Field({
  label,
  hint,
  children,
  htmlFor,
}: {
  label: string;
  hint?: ReactNode;
  children: ReactNode;
  htmlFor: string;
}) {
  return (
    <div className="field">
      <label htmlFor={htmlFor}>{label}</label>
      {children}
      {hint ? <div className="hint">{hint}</div> : null}
    </div>
  );
}

export function Badge({ tone, children }: { tone: 'ok' | 'warn' | 'bad' | 'neutral'; children: ReactNode }) {
  return <span className={`badge ${tone}`}>{children}</span>;
}

export function StatusBadge({ status }: { status: string }) {
  const tone =
    status === 'active' ||
    status === 'succeeded' ||
    status === 'valid' ||
    status === 'verified' ||
    status === 'synced' ||
    status === 'applied'
      ? 'ok'
      : status === 'started' ||
          status === 'expiring' ||
          status === 'expiring_soon' ||
          status === 'sandbox' ||
          status === 'retrying' ||
          status === 'grace' ||
          status === 'drift'
        ? 'warn'
        : status === 'failed' || status === 'suspended' || status === 'expired' || status === 'revoked'
          ? 'bad'
          : 'neutral';
  return <Badge tone={tone}>{status.replaceAll('_', ' ')}</Badge>;
}

export function Tabs({
  tabs,
  current,
  onSelect,
}: {
  tabs: Array<{ id: string; label: string }>;
  current: string;
  onSelect: (id: string) => void;
}) {
  return (
    <div className="tabs" role="tablist">
      {tabs.map((tab) => (
        <button
          key={tab.id}
          type="button"
          role="tab"
          aria-selected={tab.id === current}
          className={tab.id === current ? 'tab active' : 'tab'}
          onClick={() => onSelect(tab.id)}
        >
          {tab.label}
        </button>
      ))}
    </div>
  );
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return `${date.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' })} ${date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })}`;
}

export function PageHeader({
  title,
  subtitle,
  actions,
}: {
  title: string;
  subtitle?: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <div className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle ? <div className="muted">{subtitle}</div> : null}
      </div>
      {actions ? <div className="actions">{actions}</div> : null}
    </div>
  );
}
