export * from './contracts.ts';
export { organizationRoutes } from './routes/organizations.ts';
export {
  createTxtResolver,
  type Organization,
  OrganizationService,
  type OrganizationUpdateGuard,
  type TxtResolver,
  toOrganization,
} from './service.ts';
