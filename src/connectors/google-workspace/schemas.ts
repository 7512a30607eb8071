/**
 * Raw Google OAuth and Admin SDK Directory v1 shapes (apis.md §6;
 * https://developers.google.com/admin-sdk/directory/reference/rest/v1/users). List responses
 * omit their array entirely when a page is empty.
 */
import { z } from 'zod';

export const GoogleTokenSchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().optional(),
  token_type: z.string().optional(),
});

export const GoogleOAuthErrorSchema = z.object({
  error: z.string(),
  error_description: z.string().optional(),
});

export const GoogleApiErrorSchema = z.object({
  error: z.looseObject({
    code: z.number(),
    message: z.string(),
    errors: z
      .array(z.looseObject({ reason: z.string().optional(), message: z.string().optional() }))
      .optional(),
  }),
});

export const GoogleUserSchema = z.looseObject({
  id: z.string().min(1),
  primaryEmail: z.string(),
  name: z
    .looseObject({
      givenName: z.string().nullish(),
      familyName: z.string().nullish(),
      fullName: z.string().nullish(),
    })
    .nullish(),
  suspended: z.boolean().nullish(),
  archived: z.boolean().nullish(),
  orgUnitPath: z.string().nullish(),
  organizations: z
    .array(
      z.looseObject({
        title: z.string().nullish(),
        department: z.string().nullish(),
        costCenter: z.string().nullish(),
        description: z.string().nullish(),
        primary: z.boolean().nullish(),
      }),
    )
    .nullish(),
  relations: z.array(z.looseObject({ type: z.string(), value: z.string() })).nullish(),
  externalIds: z
    .array(z.looseObject({ type: z.string(), value: z.string(), customType: z.string().nullish() }))
    .nullish(),
  locations: z
    .array(z.looseObject({ buildingId: z.string().nullish(), area: z.string().nullish() }))
    .nullish(),
  customSchemas: z.record(z.string(), z.record(z.string(), z.unknown())).nullish(),
});
export type GoogleUser = z.output<typeof GoogleUserSchema>;

export const GoogleUsersPageSchema = z.object({
  users: z.array(GoogleUserSchema).optional(),
  nextPageToken: z.string().optional(),
});

export const GoogleGroupsPageSchema = z.object({
  groups: z
    .array(z.looseObject({ id: z.string(), email: z.string().nullish(), name: z.string().nullish() }))
    .optional(),
  nextPageToken: z.string().optional(),
});

export const GoogleMembersPageSchema = z.object({
  members: z
    .array(z.looseObject({ id: z.string().nullish(), email: z.string().nullish(), type: z.string() }))
    .optional(),
  nextPageToken: z.string().optional(),
});

export const GoogleSchemasSchema = z.object({
  schemas: z
    .array(
      z.looseObject({
        schemaName: z.string(),
        fields: z.array(
          z.looseObject({
            fieldName: z.string(),
            fieldType: z.string().optional(),
            displayName: z.string().optional(),
          }),
        ),
      }),
    )
    .optional(),
});
