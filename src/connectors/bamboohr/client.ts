/** The BambooHR client: Basic auth with the API key, JSON answers, the error header. */
import type { HrClientEnvironment } from '../hris-contract.ts';
import { basicAuth, HrHttpClient } from '../hris-http-client.ts';
import { type BamboohrConfig, type BamboohrCredentials, bamboohrManifest } from './manifest.ts';

export function bamboohrBaseUrl(config: BamboohrConfig): string {
  return config.baseUrl ?? bamboohrManifest.baseUrl.replace('{companyDomain}', config.companyDomain);
}

export function createBamboohrHttp(
  config: BamboohrConfig,
  credentials: BamboohrCredentials,
  env?: HrClientEnvironment,
): HrHttpClient {
  return new HrHttpClient({
    baseUrl: bamboohrBaseUrl(config),
    // https://documentation.bamboohr.com/docs/getting-started#authentication: the key is the user, any password.
    auth: basicAuth(credentials.apiKey, 'x'),
    manifest: bamboohrManifest,
    // Without Accept: application/json BambooHR answers XML.
    defaultHeaders: { accept: 'application/json' },
    errorMessage: (response) => {
      const header = response.headers.get('x-bamboohr-error-message');
      if (header) return header;
      const body = response.json as { error?: { code?: string; message?: string } } | undefined;
      return body?.error?.message;
    },
    ...(env ? { env } : {}),
  });
}
