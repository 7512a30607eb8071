export { apiKeyRoutes } from './routes/api-keys.ts';
export { API_SCOPES, ApiKeyService, type ApiKeyView, apiKeySchema } from './service.ts';
