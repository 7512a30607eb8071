/**
 * The Workday RaaS client: auth (ISU Basic, or an OAuth access token from the refresh-token grant,
 * refreshed on 401), the report fetch as JSON, and the report's XSD for the field list.
 * All calls go through {@link HrHttpClient}, which owns retries, Retry-After and error kinds.
 */
import { DOMParser } from '@xmldom/xmldom';
import { type HrClientEnvironment, HrConnectorError, type SourceFieldInfo } from '../hris-contract.ts';
import { basicAuth, type HrAuth, HrHttpClient, tokenSourceAuth } from '../hris-http-client.ts';
import {
  type WorkdayConfig,
  type WorkdayCredentials,
  workdayDefaultMapping,
  workdayManifest,
} from './manifest.ts';
import {
  WorkdayErrorSchema,
  type WorkdayReportEntry,
  WorkdayReportSchema,
  WorkdayTokenSchema,
} from './schemas.ts';

export class WorkdayClient {
  readonly http: HrHttpClient;
  readonly config: WorkdayConfig;

  constructor(options: {
    config: WorkdayConfig;
    credentials: WorkdayCredentials;
    env?: HrClientEnvironment;
  }) {
    this.config = options.config;
    const errorMessage = (response: { json: unknown }) => {
      const parsed = WorkdayErrorSchema.safeParse(response.json);
      if (!parsed.success) return undefined;
      return parsed.data.errors?.[0]?.error ?? parsed.data.error_description ?? parsed.data.error;
    };
    // The token endpoint gets its own client: it must not carry the bearer it is issuing.
    const tokenHttp = new HrHttpClient({
      baseUrl: this.tokenUrl(),
      manifest: workdayManifest,
      ...(options.env ? { env: options.env } : {}),
      errorMessage,
    });
    const auth: HrAuth =
      options.credentials.type === 'basic'
        ? basicAuth(options.credentials.username, options.credentials.password)
        : refreshTokenAuth(tokenHttp, this.tokenUrl(), options.credentials, options.env);
    this.http = new HrHttpClient({
      baseUrl: options.config.reportUrl,
      auth,
      manifest: workdayManifest,
      ...(options.env ? { env: options.env } : {}),
      errorMessage,
    });
  }

  /** `https://{host}/ccx/oauth2/{tenant}/token` unless configured. */
  tokenUrl(): string {
    if (this.config.tokenUrl) return this.config.tokenUrl;
    const url = new URL(this.config.reportUrl);
    const tenant = url.pathname.split('/customreport2/')[1]?.split('/')[0] ?? '';
    return `${url.origin}/ccx/oauth2/${tenant}/token`;
  }

  /** The report name (last path segment), for messages. */
  reportName(): string {
    return decodeURIComponent(new URL(this.config.reportUrl).pathname.split('/').at(-1) ?? 'report');
  }

  /** The whole report as JSON (Workday has no paging for RaaS). */
  async fetchReport(signal?: AbortSignal): Promise<WorkdayReportEntry[]> {
    const report = await this.http.getJson(
      WorkdayReportSchema,
      {
        url: this.config.reportUrl,
        query: { ...this.config.prompts, format: 'json' },
        ...(signal ? { signal } : {}),
      },
      `Workday report ${this.reportName()}`,
    );
    return report.Report_Entry;
  }

  /** The report's columns from its XSD (filled or not: RaaS JSON omits empty columns). */
  async fetchColumns(): Promise<SourceFieldInfo[]> {
    const response = await this.http.request({ url: this.config.reportUrl, query: { xsd: '' } });
    return parseReportXsd(response.text);
  }
}

function refreshTokenAuth(
  tokenHttp: HrHttpClient,
  tokenUrl: string,
  credentials: Extract<WorkdayCredentials, { type: 'oauth' }>,
  env: HrClientEnvironment | undefined,
): HrAuth {
  return tokenSourceAuth(
    async () => {
      try {
        const token = await tokenHttp.getJson(
          WorkdayTokenSchema,
          {
            method: 'POST',
            url: tokenUrl,
            anonymous: true,
            headers: {
              authorization: `Basic ${Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64')}`,
            },
            form: { grant_type: 'refresh_token', refresh_token: credentials.refreshToken },
          },
          'Workday token response',
        );
        return {
          token: token.access_token,
          ...(token.expires_in === undefined ? {} : { expiresInSeconds: token.expires_in }),
        };
      } catch (error) {
        // A refused client or refresh token is a credentials problem, whatever status Workday used.
        if (
          error instanceof HrConnectorError &&
          error.status !== null &&
          error.status >= 400 &&
          error.status < 500
        ) {
          throw new HrConnectorError(
            'invalid_credentials',
            `Workday refused the OAuth client or refresh token: ${error.vendorMessage ?? error.message}`,
            { status: error.status, ...(error.vendorMessage ? { vendorMessage: error.vendorMessage } : {}) },
          );
        }
        throw error;
      }
    },
    { ...(env?.now ? { now: env.now } : {}) },
  );
}

/**
 * Columns of a RaaS report's XSD: the elements of `Report_EntryType`, and for multi-instance
 * groups (`type="wd:Job_HistoryType"`) their sub-columns as `Group.Sub`.
 */
export function parseReportXsd(xsd: string): SourceFieldInfo[] {
  if (/<!DOCTYPE|<!ENTITY/i.test(xsd)) {
    throw new HrConnectorError('invalid_response', 'The Workday report XSD contains a DTD, which is refused');
  }
  const document = new DOMParser({
    errorHandler: { warning: () => {}, error: () => {}, fatalError: () => {} },
  }).parseFromString(xsd, 'text/xml');
  const complexTypes = new Map<string, Element[]>();
  const types = document.getElementsByTagNameNS('http://www.w3.org/2001/XMLSchema', 'complexType');
  for (let i = 0; i < types.length; i++) {
    const type = types.item(i) as unknown as Element;
    const name = type.getAttribute('name');
    if (!name) continue;
    const elements: Element[] = [];
    const children = type.getElementsByTagNameNS('http://www.w3.org/2001/XMLSchema', 'element');
    for (let j = 0; j < children.length; j++) elements.push(children.item(j) as unknown as Element);
    complexTypes.set(name, elements);
  }
  const entry = complexTypes.get('Report_EntryType');
  if (!entry) {
    throw new HrConnectorError(
      'invalid_response',
      'The Workday report XSD has no Report_EntryType (is this a RaaS report URL?)',
    );
  }
  const fields: SourceFieldInfo[] = [];
  for (const element of entry) {
    const name = element.getAttribute('name') ?? '';
    const type = element.getAttribute('type') ?? '';
    const group = complexTypes.get(type.replace(/^[^:]+:/, ''));
    if (group) {
      for (const sub of group) {
        const subName = sub.getAttribute('name') ?? '';
        fields.push({
          key: `${name}.${subName}`,
          label: `${name} › ${subName}`,
          type: xsdType(sub),
          custom: isCustom(name),
        });
      }
    } else {
      fields.push({
        key: name,
        label: name.replace(/_/g, ' '),
        type: xsdType(element),
        custom: isCustom(name),
      });
    }
  }
  return fields;
}

function xsdType(element: Element): string {
  return (element.getAttribute('type') ?? 'xsd:string').replace(/^[^:]+:/, '');
}

/** The recommended report's columns are standard; anything else the customer added is custom. */
const STANDARD_COLUMNS = new Set([
  ...Object.values(workdayDefaultMapping.fields)
    .filter((key): key is string => typeof key === 'string')
    .map((key) => key.split('.')[0] as string),
  'Workday_ID',
  'Job_History',
  'Supervisory_Organization',
  'Manager',
  'Manager_Employee_ID',
  'Worker_Type',
  'Time_Type',
  'On_Leave',
  'Last_Updated',
  'Cost_Center',
]);

function isCustom(column: string): boolean {
  return !STANDARD_COLUMNS.has(column);
}
