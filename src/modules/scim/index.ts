export { scimRoutes } from './routes/scim.ts';
export { ScimService } from './service.ts';
