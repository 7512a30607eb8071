/**
 * The SCIM schemas this server implements (RFC 7643 section 4 and 8.7), as data: the PATCH engine,
 * the filter compiler, input validation and the `/Schemas` endpoint all read the same definitions,
 * so what `/Schemas` says is what the server does.
 */
import type { CustomSchema } from '../directory/index.ts';

export const SCHEMA = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  enterpriseUser: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  listResponse: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patchOp: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
  searchRequest: 'urn:ietf:params:scim:api:messages:2.0:SearchRequest',
  serviceProviderConfig: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
} as const;

/**
 * Schema URNs clients send that carry nothing we store; accepted in `schemas` and ignored. Entra
 * adds this one to every Group it creates.
 */
export const TOLERATED_SCHEMAS = new Set([
  'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group',
]);

export type AttributeType =
  | 'string'
  | 'boolean'
  | 'decimal'
  | 'integer'
  | 'dateTime'
  | 'reference'
  | 'complex'
  | 'binary';
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
export type Returned = 'always' | 'never' | 'default' | 'request';

export interface AttributeDef {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: Mutability;
  returned: Returned;
  uniqueness: 'none' | 'server' | 'global';
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeDef[];
}

export interface SchemaDef {
  id: string;
  name: string;
  description: string;
  attributes: AttributeDef[];
}

type AttrOptions = Partial<Omit<AttributeDef, 'name' | 'type'>>;

function attr(name: string, type: AttributeType, options: AttrOptions = {}): AttributeDef {
  return {
    name,
    type,
    multiValued: false,
    description: '',
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...options,
  };
}

const str = (name: string, description: string, options: AttrOptions = {}) =>
  attr(name, 'string', { description, ...options });

/** A multi-valued complex attribute with `value`, `display`, `type`, `primary` (emails, phoneNumbers, ...). */
function multiValued(
  name: string,
  description: string,
  valueType: AttributeType,
  types: string[],
  extra: AttributeDef[] = [],
): AttributeDef {
  return attr(name, 'complex', {
    multiValued: true,
    description,
    subAttributes: [
      attr('value', valueType, { description: `The ${name} value.` }),
      str('display', 'A human-readable name, primarily used for display purposes.'),
      str('type', 'A label indicating the function of the value.', { canonicalValues: types }),
      attr('primary', 'boolean', { description: 'Whether this is the primary value; at most one is.' }),
      ...extra,
    ],
  });
}

const META: AttributeDef = attr('meta', 'complex', {
  mutability: 'readOnly',
  description: 'Resource metadata.',
  subAttributes: [
    str('resourceType', 'The resource type.', { mutability: 'readOnly', caseExact: true }),
    attr('created', 'dateTime', { mutability: 'readOnly', description: 'When the resource was created.' }),
    attr('lastModified', 'dateTime', { mutability: 'readOnly', description: 'When it last changed.' }),
    attr('location', 'reference', { mutability: 'readOnly', caseExact: true, referenceTypes: ['uri'] }),
    str('version', 'The ETag of the resource.', { mutability: 'readOnly', caseExact: true }),
  ],
});

/** Attributes every resource has (RFC 7643 section 3.1). */
export const COMMON_ATTRIBUTES: AttributeDef[] = [
  str('id', 'Unique identifier of the resource, issued by Switchboard.', {
    mutability: 'readOnly',
    returned: 'always',
    caseExact: true,
    uniqueness: 'server',
  }),
  str('externalId', "The identifier of the resource in the client's system.", { caseExact: true }),
  META,
];

export const USER_SCHEMA: SchemaDef = {
  id: SCHEMA.user,
  name: 'User',
  description: 'User Account',
  attributes: [
    str('userName', 'Unique identifier for the User, case-insensitive.', {
      required: true,
      uniqueness: 'server',
    }),
    attr('name', 'complex', {
      description: "The components of the user's name.",
      subAttributes: [
        str('formatted', 'The full name, formatted for display.'),
        str('familyName', 'The family name.'),
        str('givenName', 'The given name.'),
        str('middleName', 'The middle name(s).'),
        str('honorificPrefix', 'Honorific prefix, e.g. "Ms.".'),
        str('honorificSuffix', 'Honorific suffix, e.g. "III".'),
      ],
    }),
    str('displayName', 'The name of the User, suitable for display.'),
    str('nickName', 'The casual way to address the user.'),
    attr('profileUrl', 'reference', {
      description: "A URL of the User's online profile.",
      referenceTypes: ['external'],
    }),
    str('title', 'The user\'s title, such as "Vice President".'),
    str('userType', 'The relationship to the organization, e.g. "Employee", "Contractor".'),
    str('preferredLanguage', 'Preferred language, e.g. "en-US".'),
    str('locale', 'Default location for localization, e.g. "en-US".'),
    str('timezone', 'Time zone in IANA format, e.g. "Europe/Paris".'),
    attr('active', 'boolean', { description: 'Whether the user may sign in. false deactivates the user.' }),
    attr('password', 'string', {
      mutability: 'writeOnly',
      returned: 'never',
      description: 'Accepted and discarded: Switchboard users sign in through SSO only.',
    }),
    multiValued('emails', 'Email addresses.', 'string', ['work', 'home', 'other']),
    multiValued('phoneNumbers', 'Phone numbers.', 'string', [
      'work',
      'home',
      'mobile',
      'fax',
      'pager',
      'other',
    ]),
    multiValued('ims', 'Instant messaging addresses.', 'string', [
      'aim',
      'gtalk',
      'icq',
      'xmpp',
      'msn',
      'skype',
      'qq',
      'yahoo',
    ]),
    multiValued('photos', 'URLs of photos of the User.', 'reference', ['photo', 'thumbnail']),
    attr('addresses', 'complex', {
      multiValued: true,
      description: 'Physical mailing addresses.',
      subAttributes: [
        str('formatted', 'The full mailing address.'),
        str('streetAddress', 'The street address.'),
        str('locality', 'The city or locality.'),
        str('region', 'The state or region.'),
        str('postalCode', 'The zip or postal code.'),
        str('country', 'The country, ISO 3166-1 alpha-2.'),
        str('type', 'A label: work, home or other.', { canonicalValues: ['work', 'home', 'other'] }),
        attr('primary', 'boolean', { description: 'Whether this is the primary address.' }),
      ],
    }),
    attr('groups', 'complex', {
      multiValued: true,
      mutability: 'readOnly',
      description:
        'Groups of this directory the user belongs to (read-only: change memberships on the Group).',
      subAttributes: [
        str('value', 'The id of the group.', { mutability: 'readOnly' }),
        attr('$ref', 'reference', { mutability: 'readOnly', referenceTypes: ['Group'] }),
        str('display', 'The group name.', { mutability: 'readOnly' }),
        str('type', 'direct', { mutability: 'readOnly', canonicalValues: ['direct', 'indirect'] }),
      ],
    }),
    multiValued('entitlements', 'Entitlements of the User.', 'string', []),
    multiValued('roles', 'Roles of the User.', 'string', []),
    multiValued('x509Certificates', 'X.509 certificates (DER, base64).', 'binary', []),
  ],
};

export const ENTERPRISE_USER_SCHEMA: SchemaDef = {
  id: SCHEMA.enterpriseUser,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    str('employeeNumber', 'Identifier assigned by the organization.'),
    str('costCenter', 'Name of a cost center.'),
    str('organization', 'Name of an organization.'),
    str('division', 'Name of a division.'),
    str('department', 'Name of a department.'),
    attr('manager', 'complex', {
      description: 'The User\'s manager. Accepted as {"value": id} or as a bare id string.',
      subAttributes: [
        str('value', 'The id of the manager (a User of this directory).'),
        attr('$ref', 'reference', { referenceTypes: ['User'] }),
        str('displayName', 'The name of the manager.', { mutability: 'readOnly' }),
      ],
    }),
  ],
};

export const GROUP_SCHEMA: SchemaDef = {
  id: SCHEMA.group,
  name: 'Group',
  description: 'Group',
  attributes: [
    str('displayName', 'A human-readable name for the Group, unique in the organization.', {
      required: true,
      uniqueness: 'server',
    }),
    attr('members', 'complex', {
      multiValued: true,
      description: 'Members of the Group: Users of this directory.',
      subAttributes: [
        str('value', 'The id of the member.', { mutability: 'immutable' }),
        attr('$ref', 'reference', { mutability: 'immutable', referenceTypes: ['User'] }),
        str('display', 'The name of the member.', { mutability: 'readOnly' }),
        str('type', 'The kind of member.', { mutability: 'immutable', canonicalValues: ['User'] }),
      ],
    }),
  ],
};

/** The organization-defined extension schema of a directory, from its settings. */
export function customSchemaDef(custom: CustomSchema | undefined): SchemaDef | undefined {
  if (!custom || custom.attributes.length === 0) return undefined;
  return {
    id: custom.id,
    name: custom.name,
    description: 'Organization-defined attributes.',
    attributes: custom.attributes.map((definition) =>
      attr(definition.name, definition.type, {
        multiValued: definition.multiValued,
        caseExact: definition.caseExact,
        required: definition.required,
        description: definition.description,
        ...(definition.type === 'reference' ? { referenceTypes: ['external'] } : {}),
      }),
    ),
  };
}

/** A resource type with its core schema and extensions, as one request sees it. */
export interface ResourceModel {
  kind: 'User' | 'Group';
  endpoint: '/Users' | '/Groups';
  core: SchemaDef;
  extensions: SchemaDef[];
}

export function userModel(custom: SchemaDef | undefined): ResourceModel {
  return {
    kind: 'User',
    endpoint: '/Users',
    core: USER_SCHEMA,
    extensions: custom ? [ENTERPRISE_USER_SCHEMA, custom] : [ENTERPRISE_USER_SCHEMA],
  };
}

export const GROUP_MODEL: ResourceModel = {
  kind: 'Group',
  endpoint: '/Groups',
  core: GROUP_SCHEMA,
  extensions: [],
};

/** The attribute of the core schema (or a common one), by case-insensitive name. */
export function findAttribute(attributes: readonly AttributeDef[], name: string): AttributeDef | undefined {
  const lower = name.toLowerCase();
  return attributes.find((candidate) => candidate.name.toLowerCase() === lower);
}

export function coreAttributes(model: ResourceModel): AttributeDef[] {
  return [...COMMON_ATTRIBUTES, ...model.core.attributes];
}

/** The extension schema whose URN is `urn` (case-insensitive, RFC 7643 section 2.1). */
export function findExtension(model: ResourceModel, urn: string): SchemaDef | undefined {
  const lower = urn.toLowerCase();
  return model.extensions.find((schema) => schema.id.toLowerCase() === lower);
}
