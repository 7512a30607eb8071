/**
 * The canonical shape of a provisioning destination: what the orchestrator asks of Thinkific, a
 * SCIM app or a signed webhook. Each connector maps its vendor's payloads to these types at its
 * boundary; nothing vendor-specific leaks past it.
 */

/** The person as the destination should know them. */
export interface AccountProfile {
  /** Our user id (`usr_...`): the `external_id` / `externalId` we give the destination. */
  userId: string;
  email: string;
  givenName: string;
  familyName: string;
  displayName: string;
}

/** An account found or created in the destination. */
export interface RemoteAccount {
  remoteId: string;
  email: string;
  /** False when the destination holds the account as deactivated. Undefined when it cannot tell. */
  active?: boolean;
}

export type ProductKind = 'course' | 'bundle';

/** What enrollment should exist. Times are ISO-8601; null activation means free-preview only (Thinkific). */
export interface EnrollmentSpec {
  kind: ProductKind;
  productId: string;
  activatedAt: string | null;
  expiresAt: string | null;
}

/** An enrollment as the destination holds it. */
export interface RemoteEnrollment {
  /** The destination's id for the enrollment (bundle enrollments: the bundle id). */
  remoteId: string;
  kind: ProductKind;
  productId: string;
  activatedAt: string | null;
  expiresAt: string | null;
  /** True once `expiresAt` has passed. */
  expired: boolean;
}

export interface DestinationCapabilities {
  /** Accounts and enrollments can be read back (lookups, drift detection); false: trust what was sent. */
  readBack: boolean;
  enrollments: boolean;
  groups: boolean;
  /** The destination can tell which groups an account is in (drift detection of groups). */
  listGroups: boolean;
  removeFromGroup: boolean;
  suspend: boolean;
  delete: boolean;
}

/** A product of the destination's catalog, as a rule names it. */
export interface ProductRef {
  kind: ProductKind;
  productId: string;
}

/** Every connector the orchestrator provisions through implements this. */
export interface DestinationConnector {
  readonly kind: string;
  readonly capabilities: DestinationCapabilities;
  /** Checks the credentials against the real API with a cheap read; throws ConnectorError. */
  testConnection(): Promise<void>;
  /**
   * Looks products up in the destination's catalog (destinations that have one): the name of each,
   * or null when it does not exist. Throws `ConnectorError` when the catalog cannot be read.
   */
  findProducts?(products: readonly ProductRef[]): Promise<Array<ProductRef & { name: string | null }>>;
  /** Of the named groups, those that exist in the destination (exact names). */
  existingGroups?(names: readonly string[]): Promise<string[]>;
  /** Looks the account up by email, then by our user id as external id. */
  findAccount(profile: AccountProfile): Promise<RemoteAccount | null>;
  createAccount(profile: AccountProfile): Promise<RemoteAccount>;
  updateAccount(account: RemoteAccount, profile: AccountProfile): Promise<void>;
  /** Deactivates (suspends) the account; reactivate with `activateAccount`. */
  suspendAccount(account: RemoteAccount, profile: AccountProfile): Promise<void>;
  activateAccount(account: RemoteAccount, profile: AccountProfile): Promise<void>;
  deleteAccount(account: RemoteAccount, profile: AccountProfile): Promise<void>;
  listEnrollments(account: RemoteAccount, products: readonly EnrollmentSpec[]): Promise<RemoteEnrollment[]>;
  enroll(account: RemoteAccount, spec: EnrollmentSpec): Promise<RemoteEnrollment>;
  /** Changes activation and expiry (expiring now is how enrollments are taken away). */
  updateEnrollment(
    account: RemoteAccount,
    enrollment: RemoteEnrollment,
    times: { activatedAt: string | null; expiresAt: string | null },
  ): Promise<void>;
  /** Group names the account is in, among `names` (lower-cased). Needs `capabilities.listGroups`. */
  listGroups(account: RemoteAccount, names: readonly string[]): Promise<string[]>;
  /**
   * Finds the group by name, or creates it (when another caller created it meanwhile, finds it).
   * The orchestrator calls it once per destination and group, before anyone is added to it.
   */
  ensureGroup?(name: string): Promise<{ remoteId: string }>;
  /** Adds the account to the groups, creating groups that do not exist. */
  addToGroups(account: RemoteAccount, names: readonly string[]): Promise<void>;
  removeFromGroup(account: RemoteAccount, name: string): Promise<void>;
}

/** Thrown for an operation the destination cannot do (Thinkific v1 has no remove-from-group). */
export class UnsupportedOperation extends Error {
  override name = 'UnsupportedOperation';
}
