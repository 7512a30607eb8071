/**
 * Fake Workday tenant serving one RaaS custom report (apis.md §4):
 *
 *   GET /ccx/service/customreport2/{tenant}/{owner}/{Report_Name}?format=json
 *       → {"Report_Entry":[{...}]}: the whole report in one response, no paging.
 *   POST /ccx/oauth2/{tenant}/token  (refresh-token grant, client id/secret as Basic or form)
 *
 * Auth is Basic as an Integration System User (`ISU` or `ISU@tenant`) or an OAuth bearer token.
 * Faithful quirks: without `format=json` the report comes back as XML; keys are the report's column
 * aliases; empty fields are omitted (not null); multi-instance fields (job history, groups) are
 * arrays of objects; flags are "1"/"0" strings. Errors use Workday's REST shape
 * `{"error","errors":[{"error"}]}` [3p]; rate limits are not published, so throttling comes only
 * from injected faults (429 + Retry-After, or 503 during a maintenance window).
 */
import {
  FakeControls,
  type Fault,
  parseBasicAuth,
  parseBearer,
  startFakeHttpServer,
  TokenBook,
} from '../hr-fake-server.ts';
import { type FakePerson, PeopleStore, type PeopleStoreOptions } from '../hr-people.ts';

export interface FakeWorkdayOptions extends PeopleStoreOptions {
  tenant?: string;
  owner?: string;
  reportName?: string;
  /** Integration System User for Basic auth. */
  username?: string;
  password?: string;
  /** API client for OAuth (refresh-token grant). */
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  /** Access token lifetime in seconds (default 3600). */
  tokenLifetimeSeconds?: number;
  /** Whether the report definition includes terminated workers (default true). */
  includeTerminated?: boolean;
}

export interface FakeWorkday {
  url: string;
  /** The report URL a connector is configured with (without `format`). */
  reportUrl: string;
  tokenUrl: string;
  tenant: string;
  username: string;
  password: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  people: PeopleStore;
  requests: Awaited<ReturnType<typeof startFakeHttpServer>>['requests'];
  controls: FakeControls;
  fail(fault: Fault): void;
  /** Every access token issued so far expires now. */
  expireTokens(): void;
  close(): Promise<void>;
}

export async function startFakeWorkday(options: FakeWorkdayOptions = {}): Promise<FakeWorkday> {
  const tenant = options.tenant ?? 'acme_preview';
  const owner = options.owner ?? 'ISU_Switchboard';
  const reportName = options.reportName ?? 'Switchboard_Workers';
  const username = options.username ?? 'ISU_Switchboard';
  const password = options.password ?? 'isu-password';
  const clientId = options.clientId ?? 'wd-client-id';
  const clientSecret = options.clientSecret ?? 'wd-client-secret';
  const refreshToken = options.refreshToken ?? 'wd-refresh-token';
  const people = new PeopleStore(options);
  const controls = new FakeControls();
  const tokens = new TokenBook();
  const reportPath = `/ccx/service/customreport2/${tenant}/${owner}/${reportName}`;
  const tokenPath = `/ccx/oauth2/${tenant}/token`;

  const error = (status: number, message: string, headers: Record<string, string> = {}) => ({
    status,
    headers,
    body: { error: message, errors: [{ error: message }] },
  });

  const server = await startFakeHttpServer((request) => {
    if (request.method === 'POST' && request.path === tokenPath) {
      const form = request.form ?? new URLSearchParams();
      const basic = parseBasicAuth(request.headers.authorization);
      const id = basic?.[0] ?? form.get('client_id');
      const secret = basic?.[1] ?? form.get('client_secret');
      if (id !== clientId || secret !== clientSecret) {
        return {
          status: 401,
          body: { error: 'invalid_client', error_description: 'Invalid client credentials' },
        };
      }
      if (form.get('grant_type') !== 'refresh_token') {
        return { status: 400, body: { error: 'unsupported_grant_type' } };
      }
      if (form.get('refresh_token') !== refreshToken) {
        return { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid refresh token' } };
      }
      const lifetime = options.tokenLifetimeSeconds ?? 3600;
      controls.stats.tokensIssued += 1;
      return {
        status: 200,
        body: {
          access_token: tokens.issue(clientId, lifetime, 'wd-'),
          token_type: 'Bearer',
          expires_in: lifetime,
        },
      };
    }
    if (request.path !== reportPath) return error(404, 'The resource could not be found');
    if (request.method !== 'GET') return error(405, 'Method not allowed');

    const basic = parseBasicAuth(request.headers.authorization);
    const bearer = parseBearer(request.headers.authorization);
    if (basic) {
      const [user, pass] = basic;
      if ((user !== username && user !== `${username}@${tenant}`) || pass !== password) {
        return error(401, 'Invalid user name or password', { 'www-authenticate': 'Basic realm="Workday"' });
      }
    } else if (bearer) {
      const state = tokens.check(bearer).state;
      if (state !== 'valid')
        return error(401, state === 'expired' ? 'invalid_token: token expired' : 'invalid_token');
    } else {
      return error(401, 'Authentication required', { 'www-authenticate': 'Basic realm="Workday"' });
    }

    const fault = controls.admit(request.path);
    if (fault?.kind === 'broken') return error(500, 'An internal error occurred. Contact Workday support.');
    if (fault?.kind === 'throttle') {
      return error(429, 'Too many requests', { 'retry-after': String(fault.retryAfterSeconds ?? 10) });
    }
    if (fault?.kind === 'unavailable') {
      return error(503, 'Workday is currently unavailable due to scheduled maintenance', {
        'retry-after': String(fault.retryAfterSeconds ?? 60),
      });
    }

    // The report's schema (Workday's "View URLs" → XSD): every column, filled or not.
    if (request.query.has('xsd')) {
      return {
        status: 200,
        headers: { 'content-type': 'application/xml; charset=utf-8' },
        body: reportXsd(reportName),
      };
    }
    const entries = people
      .list()
      .filter((p) => options.includeTerminated !== false || p.status !== 'terminated')
      .map((p) => reportEntry(p, people));
    if (request.query.get('format') !== 'json') {
      return {
        status: 200,
        headers: { 'content-type': 'application/xml; charset=utf-8' },
        body: reportXml(reportName, entries),
      };
    }
    return { status: 200, body: { Report_Entry: entries } };
  });

  return {
    url: server.url,
    reportUrl: `${server.url}${reportPath}`,
    tokenUrl: `${server.url}${tokenPath}`,
    tenant,
    username,
    password,
    clientId,
    clientSecret,
    refreshToken,
    people,
    requests: server.requests,
    controls,
    fail: (fault) => controls.fail(fault),
    expireTokens: () => tokens.expireAll(),
    close: server.close,
  };
}

/** One report row with the column aliases of the report Switchboard's docs ask customers to build. */
function reportEntry(person: FakePerson, people: PeopleStore): Record<string, unknown> {
  const manager = person.managerId ? people.people.get(person.managerId) : undefined;
  const entry: Record<string, unknown> = {
    Workday_ID: person.id,
    Employee_ID: person.employeeNumber,
    Worker: `${person.firstName} ${person.lastName}`,
    Legal_Name_First_Name: person.firstName,
    Legal_Name_Last_Name: person.lastName,
    Preferred_Name_First_Name: person.preferredName ?? undefined,
    Email_Primary_Work: person.email,
    Business_Title: person.jobTitle,
    Management_Level: person.level,
    Supervisory_Organization: `${person.team} (${person.department})`,
    Department: person.department,
    Division: person.division,
    Team: person.team,
    Location: person.location,
    Cost_Center: `${person.costCenter} ${person.department}`,
    Cost_Center_ID: person.costCenter,
    Manager: manager ? `${manager.firstName} ${manager.lastName}` : undefined,
    Manager_Employee_ID: manager?.employeeNumber,
    Manager_Workday_ID: manager?.id,
    Worker_Type: person.employmentType === 'CONTRACTOR' ? 'Contingent Worker' : 'Employee',
    Time_Type: person.employmentType === 'PART_TIME' ? 'Part time' : 'Full time',
    Employee_Type: {
      FULL_TIME: 'Regular',
      PART_TIME: 'Regular',
      CONTRACTOR: 'Contractor',
      INTERN: 'Intern',
    }[person.employmentType],
    Active_Status: person.status === 'terminated' ? '0' : '1',
    On_Leave: person.status === 'leave' ? '1' : '0',
    Hire_Date: person.hireDate,
    Termination_Date: person.terminationDate ?? undefined,
    Last_Updated: new Date(person.modifiedAt).toISOString(),
    // Multi-instance fields come back as arrays of objects keyed by the subfields' aliases.
    Job_History: person.jobHistory.map((h) => ({
      Effective_Date: h.effectiveDate,
      Business_Title: h.jobTitle,
      Management_Level: h.level,
      Business_Process_Reason: {
        hire: 'Hire Employee > New Hire',
        promotion: 'Promotion > Promotion > Merit',
        transfer: 'Transfer > Transfer > Move to another Manager',
        data_change: 'Data Change > Data Change > Correction',
        termination: 'Terminate Employee > Voluntary > Resignation',
      }[h.reason],
    })),
    Shirt_Size: person.customFields.shirt_size,
    Skills: (person.customFields.competencies ?? '')
      .split(',')
      .filter(Boolean)
      .map((skill) => ({ Skill: skill.trim() })),
  };
  // Workday omits empty fields from RaaS JSON instead of sending null.
  for (const key of Object.keys(entry)) {
    const value = entry[key];
    if (
      value === undefined ||
      value === null ||
      value === '' ||
      (Array.isArray(value) && value.length === 0)
    ) {
      delete entry[key];
    }
  }
  return entry;
}

function escapeXml(value: string): string {
  return value.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function reportXml(reportName: string, entries: Record<string, unknown>[]): string {
  const field = (key: string, value: unknown): string =>
    Array.isArray(value)
      ? value
          .map(
            (item) =>
              `<wd:${key}>${Object.entries(item as object)
                .map(([k, v]) => field(k, v))
                .join('')}</wd:${key}>`,
          )
          .join('')
      : `<wd:${key}>${escapeXml(String(value))}</wd:${key}>`;
  return `<?xml version="1.0" encoding="UTF-8"?><wd:Report_Data xmlns:wd="urn:com.workday.report/${reportName}">${entries
    .map(
      (e) =>
        `<wd:Report_Entry>${Object.entries(e)
          .map(([k, v]) => field(k, v))
          .join('')}</wd:Report_Entry>`,
    )
    .join('')}</wd:Report_Data>`;
}

/** The report's columns (alias, XSD type); groups are multi-instance with their own columns. */
const REPORT_COLUMNS: Array<[string, string] | [string, Array<[string, string]>]> = [
  ['Workday_ID', 'xsd:string'],
  ['Employee_ID', 'xsd:string'],
  ['Worker', 'xsd:string'],
  ['Legal_Name_First_Name', 'xsd:string'],
  ['Legal_Name_Last_Name', 'xsd:string'],
  ['Preferred_Name_First_Name', 'xsd:string'],
  ['Email_Primary_Work', 'xsd:string'],
  ['Business_Title', 'xsd:string'],
  ['Management_Level', 'xsd:string'],
  ['Supervisory_Organization', 'xsd:string'],
  ['Department', 'xsd:string'],
  ['Division', 'xsd:string'],
  ['Team', 'xsd:string'],
  ['Location', 'xsd:string'],
  ['Cost_Center', 'xsd:string'],
  ['Cost_Center_ID', 'xsd:string'],
  ['Manager', 'xsd:string'],
  ['Manager_Employee_ID', 'xsd:string'],
  ['Manager_Workday_ID', 'xsd:string'],
  ['Worker_Type', 'xsd:string'],
  ['Time_Type', 'xsd:string'],
  ['Employee_Type', 'xsd:string'],
  ['Active_Status', 'xsd:boolean'],
  ['On_Leave', 'xsd:boolean'],
  ['Hire_Date', 'xsd:date'],
  ['Termination_Date', 'xsd:date'],
  ['Last_Updated', 'xsd:dateTime'],
  [
    'Job_History',
    [
      ['Effective_Date', 'xsd:date'],
      ['Business_Title', 'xsd:string'],
      ['Management_Level', 'xsd:string'],
      ['Business_Process_Reason', 'xsd:string'],
    ],
  ],
  ['Shirt_Size', 'xsd:string'],
  ['Skills', [['Skill', 'xsd:string']]],
];

function reportXsd(reportName: string): string {
  const groups: string[] = [];
  const elements = REPORT_COLUMNS.map(([name, type]) => {
    if (typeof type === 'string') return `<xsd:element name="${name}" type="${type}" minOccurs="0"/>`;
    groups.push(
      `<xsd:complexType name="${name}Type"><xsd:sequence>${type
        .map(([sub, subType]) => `<xsd:element name="${sub}" type="${subType}" minOccurs="0"/>`)
        .join('')}</xsd:sequence></xsd:complexType>`,
    );
    return `<xsd:element name="${name}" type="wd:${name}Type" minOccurs="0" maxOccurs="unbounded"/>`;
  }).join('');
  return `<?xml version="1.0" encoding="UTF-8"?><xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:wd="urn:com.workday.report/${reportName}" targetNamespace="urn:com.workday.report/${reportName}" elementFormDefault="qualified"><xsd:element name="Report_Data" type="wd:Report_DataType"/><xsd:complexType name="Report_DataType"><xsd:sequence><xsd:element name="Report_Entry" type="wd:Report_EntryType" minOccurs="0" maxOccurs="unbounded"/></xsd:sequence></xsd:complexType><xsd:complexType name="Report_EntryType"><xsd:sequence>${elements}</xsd:sequence></xsd:complexType>${groups.join('')}</xsd:schema>`;
}
