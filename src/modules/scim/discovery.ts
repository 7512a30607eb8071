/**
 * The discovery endpoints (RFC 7644 section 4): what this server supports, truthfully, generated
 * from the same schema definitions the PATCH engine and filter compiler use.
 */
import { MAX_OPERATIONS } from './patch.ts';
import {
  type AttributeDef,
  COMMON_ATTRIBUTES,
  GROUP_MODEL,
  type ResourceModel,
  SCHEMA,
  type SchemaDef,
} from './schemas.ts';
import { MAX_RESULTS } from './service.ts';

export function serviceProviderConfig(baseUrl: string, maxPayloadSize: number) {
  return {
    schemas: [SCHEMA.serviceProviderConfig],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: "The directory's bearer token, sent as `Authorization: Bearer <token>`.",
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
    // Not part of RFC 7643; for operators reading the document.
    'urn:switchboard:params:scim:limits': { maxPatchOperations: MAX_OPERATIONS },
  };
}

export function resourceTypes(baseUrl: string, userModel: ResourceModel) {
  return [userModel, GROUP_MODEL].map((model) => ({
    schemas: [SCHEMA.resourceType],
    id: model.kind,
    name: model.kind,
    endpoint: model.endpoint,
    description: model.kind === 'User' ? 'User Account' : 'Group',
    schema: model.core.id,
    schemaExtensions: model.extensions.map((extension) => ({ schema: extension.id, required: false })),
    meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/${model.kind}` },
  }));
}

export function schemaDocuments(baseUrl: string, userModel: ResourceModel) {
  const schemas: SchemaDef[] = [
    {
      ...userModel.core,
      attributes: [...COMMON_ATTRIBUTES.filter((a) => a.name !== 'meta'), ...userModel.core.attributes],
    },
    ...userModel.extensions,
    {
      ...GROUP_MODEL.core,
      attributes: [...COMMON_ATTRIBUTES.filter((a) => a.name !== 'meta'), ...GROUP_MODEL.core.attributes],
    },
  ];
  return schemas.map((schema) => ({
    schemas: [SCHEMA.schema],
    id: schema.id,
    name: schema.name,
    description: schema.description,
    attributes: schema.attributes.map(renderAttribute),
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${schema.id}` },
  }));
}

function renderAttribute(attribute: AttributeDef): Record<string, unknown> {
  return {
    name: attribute.name,
    type: attribute.type,
    multiValued: attribute.multiValued,
    description: attribute.description,
    required: attribute.required,
    caseExact: attribute.caseExact,
    mutability: attribute.mutability,
    returned: attribute.returned,
    uniqueness: attribute.uniqueness,
    ...(attribute.canonicalValues?.length ? { canonicalValues: attribute.canonicalValues } : {}),
    ...(attribute.referenceTypes ? { referenceTypes: attribute.referenceTypes } : {}),
    ...(attribute.subAttributes ? { subAttributes: attribute.subAttributes.map(renderAttribute) } : {}),
  };
}
