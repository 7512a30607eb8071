export * from './contracts.ts';
export { organizationRoutes } from './routes/organizations.ts';
export { type Organization, OrganizationService, type TxtResolver, createTxtResolver, toOrganization } from './service.ts';
