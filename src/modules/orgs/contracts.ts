/** API shapes and policies of organizations. */
import { domainToASCII } from 'node:url';
import { z } from 'zod';

export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Each organization policy, without its default (see organizationPoliciesSchema). */
const policyFields = {
  jitProvisioning: z
    .boolean()
    .describe('Create a user on their first successful SSO login when no user matches.'),
  jitEmailDomains: z
    .enum(['any', 'verified_domains'])
    .describe(
      "Which emails just-in-time provisioning may create users for: any address the IdP sends (`any`), or only addresses on one of this organization's verified domains (`verified_domains`; the login of anyone else is refused, with a trace saying which domain).",
    ),
  accountLinking: z
    .enum(['never', 'verified_domain', 'any_email'])
    .describe(
      "When an SSO identity arrives with the email of an existing user: link only if the email domain is one of this organization's verified domains (`verified_domain`), always (`any_email`), or never (`never`, the login is refused).",
    ),
  scimDelete: z
    .enum(['deprovision', 'remove'])
    .describe('What a SCIM DELETE does: keep the user as `deprovisioned`, or remove them entirely.'),
};

/**
 * Organization policies. Each has a safe default; an update merges the keys it names.
 */
export const organizationPoliciesSchema = z
  .object({
    jitProvisioning: policyFields.jitProvisioning.default(true),
    jitEmailDomains: policyFields.jitEmailDomains.default('any'),
    accountLinking: policyFields.accountLinking.default('verified_domain'),
    scimDelete: policyFields.scimDelete.default('deprovision'),
  })
  .strict()
  .meta({ id: 'OrganizationPolicies' });

/**
 * The policies an update names. No defaults here: Zod 4 applies a default even to an optional
 * key, so `organizationPoliciesSchema.partial()` would reset every policy the update leaves out.
 */
const organizationPolicyChanges = z.object(policyFields).partial().strict();

export type OrganizationPolicies = z.output<typeof organizationPoliciesSchema>;

export const ORGANIZATION_STATUSES = ['active', 'suspended'] as const;
export const ORGANIZATION_ENVIRONMENTS = ['production', 'sandbox'] as const;

/** Consumer mail providers: an organization cannot claim them as its own domain. */
const CONSUMER_DOMAINS = new Set([
  'gmail.com',
  'googlemail.com',
  'outlook.com',
  'hotmail.com',
  'live.com',
  'msn.com',
  'yahoo.com',
  'icloud.com',
  'me.com',
  'aol.com',
  'proton.me',
  'protonmail.com',
  'gmx.com',
  'gmx.de',
  'web.de',
  'yandex.ru',
  'mail.ru',
  'qq.com',
  '163.com',
]);

/** Lower-cases and IDNA-encodes a domain; returns an error message when it is not a usable domain. */
export function normalizeDomain(input: string): { domain: string } | { error: string } {
  const trimmed = input.trim().toLowerCase().replace(/\.$/, '');
  if (trimmed.includes('@')) return { error: 'expected a domain such as example.com, not an email address' };
  if (trimmed.includes('/') || trimmed.includes(':'))
    return { error: 'expected a bare domain such as example.com, not a URL' };
  const ascii = domainToASCII(trimmed);
  if (!ascii || ascii.length > 253) return { error: 'is not a valid domain name' };
  const labels = ascii.split('.');
  if (labels.length < 2 || labels.some((label) => !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(label))) {
    return { error: 'is not a valid domain name (expected something like example.com)' };
  }
  if (/^\d+$/.test(labels.at(-1) ?? '')) return { error: 'is an IP address, not a domain' };
  if (CONSUMER_DOMAINS.has(ascii)) {
    return { error: `${ascii} is a public mail provider; an organization can only claim a domain it owns` };
  }
  return { domain: ascii };
}

const domainInput = z.string().min(1).max(253);

const instancesSchema = z
  .record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/), z.url({ protocol: /^https?$/ }))
  .describe('App instance base URLs by application key, e.g. {"coaching": "https://pg.example.com"}.');

export const createOrganizationBody = z
  .object({
    name: z.string().trim().min(1).max(200).describe('Display name of the client company.'),
    slug: z
      .string()
      .regex(SLUG_PATTERN, 'expected lowercase letters, digits and hyphens (for example acme-corp)')
      .optional()
      .describe('URL-safe unique key; derived from the name when omitted.'),
    domains: z
      .array(domainInput)
      .max(100)
      .optional()
      .describe('Email domains the organization owns (unverified until checked).'),
    region: z
      .string()
      .regex(/^[a-z0-9-]{1,32}$/)
      .optional(),
    environment: z.enum(ORGANIZATION_ENVIRONMENTS).optional(),
    policies: organizationPoliciesSchema.partial().optional(),
    instances: instancesSchema.optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .meta({ id: 'CreateOrganization' });

export const updateOrganizationBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    slug: z.string().regex(SLUG_PATTERN, 'expected lowercase letters, digits and hyphens').optional(),
    status: z.enum(ORGANIZATION_STATUSES).optional(),
    region: z
      .string()
      .regex(/^[a-z0-9-]{1,32}$/)
      .optional(),
    environment: z.enum(ORGANIZATION_ENVIRONMENTS).optional(),
    policies: organizationPolicyChanges.optional(),
    instances: instancesSchema.optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .meta({ id: 'UpdateOrganization' });

export type CreateOrganizationInput = z.output<typeof createOrganizationBody>;
export type UpdateOrganizationInput = z.output<typeof updateOrganizationBody>;

export const domainSchema = z
  .object({
    id: z.string(),
    domain: z.string(),
    verified: z.boolean(),
    verifiedAt: z.string().nullable(),
    verificationMethod: z.string().nullable(),
    verification: z
      .object({
        type: z.literal('TXT'),
        name: z.string(),
        value: z.string(),
      })
      .describe('The DNS record that proves ownership.'),
    lastCheckedAt: z.string().nullable(),
    lastCheckError: z.string().nullable(),
    otherClaims: z
      .array(
        z.object({
          organizationId: z.string(),
          slug: z.string(),
          name: z.string(),
          verified: z.boolean(),
        }),
      )
      .optional()
      .describe(
        'Other organizations that hold the same domain (on GET of one organization): pending claims, which only one organization can ever verify, and the organization that verified it.',
      ),
  })
  .meta({ id: 'OrganizationDomain' });

export const organizationSchema = z
  .object({
    id: z.string(),
    slug: z.string(),
    name: z.string(),
    status: z.enum(ORGANIZATION_STATUSES),
    region: z.string(),
    environment: z.enum(ORGANIZATION_ENVIRONMENTS),
    policies: organizationPoliciesSchema,
    instances: z.record(z.string(), z.string()),
    metadata: z.record(z.string(), z.unknown()),
    domains: z.array(domainSchema),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Organization' });

const organizationRefSchema = z.object({ id: z.string(), slug: z.string(), name: z.string() });

export const organizationCreatedSchema = organizationSchema
  .extend({
    warnings: z
      .array(
        z.object({
          code: z
            .enum(['slug_changed', 'similar_name'])
            .describe(
              '`slug_changed`: the slug derived from the name was taken, so a suffix was added; `similar_name`: another organization has the same name, or the slug the name derives to.',
            ),
          message: z.string().describe('What happened and what to do, for a person.'),
          organizations: z
            .array(organizationRefSchema)
            .describe('The existing organizations it could be mistaken for.'),
        }),
      )
      .describe('Said once, in the answer to the creation: nothing is refused.'),
  })
  .meta({ id: 'OrganizationCreated' });

export type OrganizationView = z.output<typeof organizationSchema>;
export type OrganizationCreatedView = z.output<typeof organizationCreatedSchema>;
export type DomainView = z.output<typeof domainSchema>;

/** TXT record name and value that verify a domain. */
export function verificationRecord(domain: string, token: string) {
  return {
    type: 'TXT' as const,
    name: `_switchboard-verification.${domain}`,
    value: `switchboard-verification=${token}`,
  };
}

/** Derives a slug from a display name. */
export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50)
    .replace(/-+$/g, '');
  return slug || 'org';
}
