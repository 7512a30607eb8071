/**
 * The HR and directory connector contract: what every inbound people source (Personio, BambooHR,
 * Workday, SuccessFactors, Merge, Google Workspace, Microsoft Graph) implements, and the canonical
 * employee model they all produce. The hris module (`src/modules/hris`) only ever sees these types:
 * a vendor payload never crosses this boundary.
 *
 * ## Adding a connector
 *
 * 1. Make `src/connectors/<system>/` with:
 *    - `manifest.ts`: a {@link HrConnectorManifest}: provider key, auth mode, base URL, pagination
 *      style, rate-limit behaviour, incremental support, the zod schemas of its non-secret `config`
 *      and its secret `credentials`, and its {@link FieldMapping} defaults (which source field
 *      fills which canonical field).
 *    - `schemas.ts`: zod schemas of the raw vendor shapes (`PersonioEmployeeSchema`, ...). Parse
 *      every response with them; a response that does not match throws {@link HrSchemaError}
 *      naming the path, never a half-read record.
 *    - `client.ts`: builds an {@link HrHttpClient} (`../hris-http-client.ts`) with the vendor's
 *      auth ({@link HrAuth}: basic, static bearer, or a token source the client refreshes before
 *      expiry and after a 401/403), retry and throttling policy (429/503 + `Retry-After`, backoff
 *      with jitter), and exposes typed operations.
 *    - `operations/read-employees.ts` (and others): async generators yielding
 *      {@link EmployeePage}s, each with a `checkpoint` from which the read resumes.
 *    - `flatten.ts`: raw record → {@link SourceRecord} (flat `fields` keyed by source field names,
 *      e.g. `department.name`, `dynamic_24407`), so mapping is data, not code.
 *    - `index.ts`: exports `<system>Connector: HrConnector`.
 * 2. Register it in `src/connectors/hris-registry.ts`.
 * 3. Write a faithful fake in `test/fakes/<system>/` (paths, auth, paging, error shapes,
 *    throttling, quirks per `apis.md`) implementing {@link HrFakeControl}-style seeding (see
 *    `test/connectors/hris-contract.ts`), then run the shared contract suite against it:
 *    `describeHrConnectorContract({ connector, startFake })` in `test/hris/<system>.test.ts`.
 *
 * Times are ISO-8601 strings; dates (`hireDate`, ...) are `YYYY-MM-DD`.
 */
import type { z } from 'zod';

// ---------------------------------------------------------------------------------------------
// Canonical employee model (names follow Merge's unified HRIS `Employee` where one exists).
// ---------------------------------------------------------------------------------------------

/** Canonical employment status (Merge: ACTIVE | PENDING | INACTIVE). */
export const EMPLOYMENT_STATUSES = ['active', 'pending', 'inactive'] as const;
export type EmploymentStatus = (typeof EMPLOYMENT_STATUSES)[number];

/** Canonical employment type (Merge's `employment_type` values, lower-cased). */
export const EMPLOYMENT_TYPES = ['full_time', 'part_time', 'intern', 'contractor', 'freelance'] as const;
export type EmploymentType = (typeof EMPLOYMENT_TYPES)[number];

/**
 * The canonical scalar fields a mapping can fill. `manager` holds the manager's *source* id; the
 * hris module resolves it to a Switchboard user when that person is known.
 */
export const CANONICAL_FIELDS = [
  'employeeNumber',
  'workEmail',
  'firstName',
  'lastName',
  'preferredName',
  'displayName',
  'jobTitle',
  'level',
  'department',
  'division',
  'team',
  'location',
  'costCenter',
  'manager',
  'employmentType',
  'employmentStatus',
  'hireDate',
  'startDate',
  'terminationDate',
  'lastPromotionDate',
  'competencies',
] as const;
export type CanonicalField = (typeof CANONICAL_FIELDS)[number];

/** Fields holding a date (`YYYY-MM-DD`); mapped values are normalised to that form. */
export const DATE_FIELDS: ReadonlySet<CanonicalField> = new Set([
  'hireDate',
  'startDate',
  'terminationDate',
  'lastPromotionDate',
]);

export type CanonicalValue = string | string[] | null;

/** A canonical employee as a connector produces it (no provenance yet: the hris module adds that). */
export interface CanonicalEmployee {
  /** The person's id in the source (stable; used for matching, deletions and manager links). */
  sourceId: string;
  fields: Partial<Record<CanonicalField, CanonicalValue>>;
  /** Custom profile attributes (organization-defined names), from mapped custom HR fields. */
  custom: Record<string, CanonicalValue>;
  /** Job history, newest last, where the source has it (promotion and time-in-role facts). */
  jobHistory?: JobHistoryEntry[];
}

export interface JobHistoryEntry {
  /** `YYYY-MM-DD` the position took effect. */
  effectiveDate: string;
  jobTitle?: string | null;
  level?: string | null;
  department?: string | null;
  /** The source says this entry is a promotion (e.g. SuccessFactors event reason PROMOTION). */
  promotion?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Raw records as connectors stream them.
// ---------------------------------------------------------------------------------------------

/**
 * One source record, flattened: `fields` keyed by the source's own field names (nested objects
 * joined with dots: `department.name`, `supervisor.id`), values scalars or arrays of scalars.
 * Field mappings refer to these keys.
 */
export interface SourceRecord {
  sourceId: string;
  fields: Record<string, SourceValue>;
  jobHistory?: JobHistoryEntry[];
}
export type SourceValue = string | number | boolean | null | Array<string | number | boolean>;

/** A group as directory sources (Google Workspace, Graph) report it. */
export interface SourceGroup {
  sourceId: string;
  name: string;
  /** Members' source ids. Full list unless `membersDelta`. */
  memberIds?: string[];
  /** Incremental sources: member changes instead of the full list. */
  membersDelta?: { added: string[]; removed: string[] };
  /** The group was deleted at the source. */
  removed?: boolean;
}

/**
 * One page of a read. The sync engine commits a page (its records, deletions and `checkpoint`)
 * in one transaction, so a failed sync resumes after the last committed page and never applies a
 * half page.
 */
export interface EmployeePage {
  records: SourceRecord[];
  /** Source ids the source says were deleted (incremental reads: Graph `@removed`, BambooHR `Deleted`). */
  deletedIds?: string[];
  /**
   * Groups (directory sources). Send them after the pages holding their members: members are
   * resolved through the records read so far. `memberIds` replaces this source's members;
   * `membersDelta` adds and removes.
   */
  groups?: SourceGroup[];
  /**
   * Opaque resume point *after* this page (an offset, a cursor, a next link), or null on the last
   * page. Passing it back as `resumeFrom` continues with the next page.
   */
  checkpoint: string | null;
  /**
   * On the last page of a read: the incremental token for the next run (a timestamp for
   * `updated_since`, a delta link). Undefined when the source has no increments.
   */
  nextSince?: string;
}

export interface ReadEmployeesRequest {
  /** `full`: every record (deletions are what a full read does not return). `incremental`: changes since `since`. */
  mode: 'full' | 'incremental';
  /** Incremental token from a previous read's `nextSince`. */
  since?: string;
  /** Checkpoint of the last committed page of an interrupted read of the same mode. */
  resumeFrom?: string;
  /** Page size hint (clamped to the vendor's maximum). */
  pageSize?: number;
  /**
   * Source fields the directory's mapping uses. Connectors that must name the fields they read
   * (BambooHR reports, Workday prompts, Graph `$select`) request these besides their defaults.
   */
  fields?: readonly string[];
  /** The time the read started (connectors derive `nextSince` from it; tests pin it). */
  startedAt?: Date;
  signal?: AbortSignal;
}

/** A field the source offers, for mapping editors. */
export interface SourceFieldInfo {
  key: string;
  label: string;
  type?: string;
  /** Custom (tenant-defined) field, e.g. Personio `dynamic_*`. */
  custom?: boolean;
}

export interface ConnectionCheck {
  ok: boolean;
  /** What was checked, for a person (`Read 1 employee from Personio`). */
  detail: string;
  /** Stable code on failure (`invalid_credentials`, `forbidden`, `unreachable`, ...). */
  code?: string;
}

// ---------------------------------------------------------------------------------------------
// Field mapping.
// ---------------------------------------------------------------------------------------------

/**
 * Which source field fills which canonical field, per directory. Connector defaults come from the
 * manifest; a directory's mapping overrides them field by field (null removes a default).
 */
export interface FieldMapping {
  /** Canonical field → source field key (a key of {@link SourceRecord.fields}). */
  fields: Partial<Record<CanonicalField, string | null>>;
  /** Custom profile attribute name → source field key (e.g. `shirtSize` → `dynamic_24407`). */
  custom: Record<string, string>;
  /**
   * Value translations per canonical field (source value, lower-cased → canonical value), e.g.
   * Personio `employmentStatus`: `{ onboarding: 'pending', leave: 'active' }`.
   */
  values: Partial<Record<CanonicalField, Record<string, string>>>;
}

// ---------------------------------------------------------------------------------------------
// Manifest and connector.
// ---------------------------------------------------------------------------------------------

export type HrAuthMode =
  | 'basic'
  /** A token obtained from client credentials (`POST /auth`, OAuth client_credentials), refreshed on expiry. */
  | 'oauth2_client_credentials'
  | 'oauth2_jwt_bearer'
  | 'oauth2_saml_bearer'
  | 'oauth2_refresh_token'
  | 'api_key_bearer';

export type PaginationStyle =
  | 'offset'
  | 'cursor'
  | 'next_link'
  | 'page_token'
  | 'skiptoken'
  | 'delta_link'
  | 'none';

export interface HrConnectorManifest<Config = unknown, Credentials = unknown> {
  /** Key stored on the directory (`personio`, `bamboohr`, ...). */
  provider: string;
  displayName: string;
  /** Directory kinds this connector serves: `hris` (HR systems) or `directory` (Google, Graph). */
  kinds: ReadonlyArray<'hris' | 'directory'>;
  auth: {
    mode: HrAuthMode;
    /** Statuses meaning "token expired or invalid: refresh and retry once" (e.g. Personio: 401, 403). */
    refreshOn: readonly number[];
  };
  /** Default base URL; a `{placeholder}` is filled from config (`https://{companyDomain}.bamboohr.com/api/v1`). */
  baseUrl: string;
  pagination: { style: PaginationStyle; maxPageSize: number; defaultPageSize: number };
  rateLimit: {
    /** Statuses meaning "throttled": retried after Retry-After or backoff. */
    throttleStatuses: readonly number[];
    /** Floor of the wait when the vendor sends no Retry-After (Personio: at least 1 s). */
    minRetryMs: number;
    /** Attempts after the first before the read fails. */
    maxRetries: number;
    /** Longest Retry-After honoured; longer fails the run (it resumes on the next schedule). */
    maxRetryAfterMs: number;
    notes: string;
  };
  incremental: {
    supported: boolean;
    /** How increments are asked for (`updated_since`, `changed_since`, `delta_link`, `modified_after`). */
    style?: string;
    /** Incremental reads report deletions (otherwise only full reads detect them). */
    signalsDeletions: boolean;
  };
  capabilities: { groups: boolean; jobHistory: boolean; customFields: boolean };
  /** Non-secret settings (base URL override, report name, page size). */
  configSchema: z.ZodType<Config>;
  /** Secrets, sealed at rest (client secrets, API keys, private keys). */
  credentialsSchema: z.ZodType<Credentials>;
  defaultMapping: FieldMapping;
}

/** Injected by the host (hub or test) into every client. */
export interface HrClientEnvironment {
  /** Defaults to global fetch. */
  fetch?: typeof fetch;
  /** Defaults to setTimeout; tests may speed up waits (never assert on time). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  /** Redacted request log hook (method, URL without secrets, status, attempt). */
  onRequest?: (info: { method: string; url: string; status: number | null; attempt: number }) => void;
  userAgent?: string;
  timeoutMs?: number;
}

/** A connected client for one directory. */
export interface HrClient {
  testConnection(): Promise<ConnectionCheck>;
  listSourceFields(): Promise<SourceFieldInfo[]>;
  readEmployees(request: ReadEmployeesRequest): AsyncIterable<EmployeePage>;
}

export interface HrConnector<Config = unknown, Credentials = unknown> {
  manifest: HrConnectorManifest<Config, Credentials>;
  createClient(options: { config: Config; credentials: Credentials; env?: HrClientEnvironment }): HrClient;
  /**
   * Source record → canonical employee under a mapping (the directory's merged over the manifest
   * defaults). Usually {@link ../hris-mapping.ts}'s `mapSourceRecord`; a connector may wrap it
   * for vendor quirks (SuccessFactors `/Date(ms)/`).
   */
  mapToCanonical(record: SourceRecord, mapping: FieldMapping): CanonicalEmployee;
}

/** Helper for `const personioConnector = defineHrConnector({...})` with full inference. */
export function defineHrConnector<Config, Credentials>(
  connector: HrConnector<Config, Credentials>,
): HrConnector<Config, Credentials> {
  return connector;
}

// ---------------------------------------------------------------------------------------------
// Errors a connector throws (the sync engine records them on the run; never secrets).
// ---------------------------------------------------------------------------------------------

export type HrErrorKind =
  | 'invalid_credentials'
  | 'forbidden'
  | 'not_found'
  | 'throttled'
  | 'upstream'
  | 'invalid_request'
  | 'unreachable'
  | 'invalid_response';

export class HrConnectorError extends Error {
  override name = 'HrConnectorError';
  readonly kind: HrErrorKind;
  readonly status: number | null;
  /** The vendor's own error code or message, when it gave one (trimmed; never credentials). */
  readonly vendorMessage: string | undefined;
  constructor(
    kind: HrErrorKind,
    message: string,
    options: { status?: number | null; vendorMessage?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.status = options.status ?? null;
    this.vendorMessage = options.vendorMessage;
  }
}

/** A vendor response did not match its schema (a shape change, or the wrong endpoint). */
export class HrSchemaError extends HrConnectorError {
  override name = 'HrSchemaError';
  readonly issues: Array<{ path: string; message: string }>;
  constructor(what: string, issues: Array<{ path: string; message: string }>) {
    super(
      'invalid_response',
      `${what} did not match the expected shape: ${issues
        .slice(0, 3)
        .map((issue) => `${issue.path || '(root)'}: ${issue.message}`)
        .join('; ')}`,
    );
    this.issues = issues;
  }
}
