/** API shapes of users, groups and identities. */
import { z } from 'zod';

export const USER_STATUSES = ['active', 'suspended', 'deprovisioned'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export const USER_SOURCES = ['api', 'scim', 'sso', 'import', 'hris', 'directory'] as const;

/** Largest serialized profile accepted, so one user cannot bloat every event and page. */
export const MAX_PROFILE_BYTES = 64 * 1024;

/**
 * Practical email check (RFC 5322 is far looser than what any IdP or LMS accepts): one @, a
 * non-empty local part without spaces, a domain with a dot and a letter TLD.
 */
export const EMAIL_PATTERN =
  /^[^\s@"(),:;<>[\\\]]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,63}$/i;

export const emailSchema = z
  .string()
  .trim()
  .max(320)
  .regex(EMAIL_PATTERN, 'expected an email address such as ada@example.com');

const nameSchema = z.string().trim().max(200);

const profileSchema = z
  .record(z.string().min(1).max(100), z.unknown())
  .refine((value) => JSON.stringify(value).length <= MAX_PROFILE_BYTES, {
    message: `profile must be at most ${MAX_PROFILE_BYTES} bytes as JSON`,
  })
  .describe('Canonical profile attributes (title, department, employee_id, ...) and custom attributes.');

const externalIdsSchema = z
  .record(z.string().min(1).max(100), z.string().max(500))
  .describe('Ids of this person in other systems, by source key.');

export const createUserBody = z
  .object({
    email: emailSchema,
    givenName: nameSchema.optional(),
    familyName: nameSchema.optional(),
    displayName: nameSchema.optional(),
    externalIds: externalIdsSchema.optional(),
    profile: profileSchema.optional(),
  })
  .strict()
  .meta({ id: 'CreateUser' });

export const updateUserBody = z
  .object({
    email: emailSchema.optional(),
    givenName: nameSchema.nullable().optional(),
    familyName: nameSchema.nullable().optional(),
    displayName: nameSchema.nullable().optional(),
    externalIds: z
      .record(z.string().min(1).max(100), z.string().max(500).nullable())
      .optional()
      .describe('Merged into the current ids; a null value removes that id.'),
    profile: z
      .record(z.string().min(1).max(100), z.unknown())
      .optional()
      .describe('Merged into the current profile; a null value removes that attribute.'),
  })
  .strict()
  .meta({ id: 'UpdateUser' });

export type CreateUserInput = z.output<typeof createUserBody>;
export type UpdateUserInput = z.output<typeof updateUserBody>;

export const userSchema = z
  .object({
    id: z.string().describe('Stable Switchboard user id: the `sub` our applications see.'),
    organizationId: z.string(),
    email: z.string().nullable(),
    givenName: z.string().nullable(),
    familyName: z.string().nullable(),
    displayName: z.string().nullable(),
    status: z.enum(USER_STATUSES),
    externalIds: z.record(z.string(), z.string()),
    profile: z.record(z.string(), z.unknown()),
    source: z.string(),
    version: z.number().int(),
    lastLoginAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'User' });

export type UserView = z.output<typeof userSchema>;

export const createGroupBody = z
  .object({
    name: z.string().trim().min(1).max(256),
    description: z.string().max(2000).optional(),
    externalIds: externalIdsSchema.optional(),
  })
  .strict()
  .meta({ id: 'CreateGroup' });

export const updateGroupBody = z
  .object({
    name: z.string().trim().min(1).max(256).optional(),
    description: z.string().max(2000).nullable().optional(),
  })
  .strict()
  .meta({ id: 'UpdateGroup' });

export type CreateGroupInput = z.output<typeof createGroupBody>;
export type UpdateGroupInput = z.output<typeof updateGroupBody>;

export const groupSchema = z
  .object({
    id: z.string(),
    organizationId: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    source: z.string(),
    externalIds: z.record(z.string(), z.string()),
    memberCount: z.number().int(),
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Group' });

export type GroupView = z.output<typeof groupSchema>;

export const identitySchema = z
  .object({
    id: z.string(),
    userId: z.string(),
    providerType: z.string(),
    providerId: z.string(),
    subject: z.string(),
    profile: z.record(z.string(), z.unknown()),
    lastSeenAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'Identity' });

export type IdentityView = z.output<typeof identitySchema>;
