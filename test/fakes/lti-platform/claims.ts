/**
 * The vocabulary of LTI 1.3 / LTI Advantage the platform fake speaks: claim names, service scopes,
 * media types and role URIs, as the 1EdTech specifications spell them.
 *
 * - LTI Core 1.3 (https://www.imsglobal.org/spec/lti/v1p3/): message claims, role vocabularies.
 * - Deep Linking 2.0 (https://www.imsglobal.org/spec/lti-dl/v2p0/): settings and response claims.
 * - Assignment and Grade Services 2.0 (https://www.imsglobal.org/spec/lti-ags/v2p0/): endpoint
 *   claim, scopes, media types, score vocabularies (§3.4.7, §3.4.8).
 * - Names and Role Provisioning Services 2.0 (https://www.imsglobal.org/spec/lti-nrps/v2p0/).
 */

export const LTI_VERSION = '1.3.0';

const LTI = 'https://purl.imsglobal.org/spec/lti/claim/';
const DL = 'https://purl.imsglobal.org/spec/lti-dl/claim/';

export const CLAIM = {
  messageType: `${LTI}message_type`,
  version: `${LTI}version`,
  deploymentId: `${LTI}deployment_id`,
  targetLinkUri: `${LTI}target_link_uri`,
  resourceLink: `${LTI}resource_link`,
  roles: `${LTI}roles`,
  context: `${LTI}context`,
  toolPlatform: `${LTI}tool_platform`,
  launchPresentation: `${LTI}launch_presentation`,
  custom: `${LTI}custom`,
  lis: `${LTI}lis`,
  ags: 'https://purl.imsglobal.org/spec/lti-ags/claim/endpoint',
  nrps: 'https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice',
  deepLinkingSettings: `${DL}deep_linking_settings`,
  contentItems: `${DL}content_items`,
  data: `${DL}data`,
  msg: `${DL}msg`,
  log: `${DL}log`,
  errorMsg: `${DL}errormsg`,
  errorLog: `${DL}errorlog`,
} as const;

export const MESSAGE_TYPE = {
  resourceLink: 'LtiResourceLinkRequest',
  deepLinkingRequest: 'LtiDeepLinkingRequest',
  deepLinkingResponse: 'LtiDeepLinkingResponse',
} as const;

export const SCOPE = {
  lineItem: 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem',
  lineItemReadOnly: 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly',
  resultReadOnly: 'https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly',
  score: 'https://purl.imsglobal.org/spec/lti-ags/scope/score',
  contextMembershipReadOnly: 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly',
} as const;

export const AGS_SCOPES: string[] = [
  SCOPE.lineItem,
  SCOPE.lineItemReadOnly,
  SCOPE.resultReadOnly,
  SCOPE.score,
];
export const ALL_SERVICE_SCOPES: string[] = [...AGS_SCOPES, SCOPE.contextMembershipReadOnly];

export const MEDIA_TYPE = {
  score: 'application/vnd.ims.lis.v1.score+json',
  lineItem: 'application/vnd.ims.lis.v2.lineitem+json',
  lineItemContainer: 'application/vnd.ims.lis.v2.lineitemcontainer+json',
  resultContainer: 'application/vnd.ims.lis.v2.resultcontainer+json',
  membershipContainer: 'application/vnd.ims.lti-nrps.v2.membershipcontainer+json',
} as const;

/** AGS §3.4.7 and §3.4.8: the only values a score may carry. */
export const ACTIVITY_PROGRESS = ['Initialized', 'Started', 'InProgress', 'Submitted', 'Completed'];
export const GRADING_PROGRESS = ['FullyGraded', 'Pending', 'PendingManual', 'Failed', 'NotReady'];

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const MEMBERSHIP = 'http://purl.imsglobal.org/vocab/lis/v2/membership#';
const INSTITUTION = 'http://purl.imsglobal.org/vocab/lis/v2/institution/person#';

export const ROLE = {
  learner: `${MEMBERSHIP}Learner`,
  instructor: `${MEMBERSHIP}Instructor`,
  teachingAssistant: `${MEMBERSHIP}Instructor#TeachingAssistant`,
  contentDeveloper: `${MEMBERSHIP}ContentDeveloper`,
  administrator: `${MEMBERSHIP}Administrator`,
  mentor: `${MEMBERSHIP}Mentor`,
  student: `${INSTITUTION}Student`,
  faculty: `${INSTITUTION}Faculty`,
} as const;

/**
 * A role as the launch carries it: full URIs are kept, short context roles (`Learner`,
 * `Instructor`, ...) become LIS v2 membership URIs (LTI Core §A.2.3).
 */
export function expandRole(role: string): string {
  return role.includes('://') ? role : `${MEMBERSHIP}${role}`;
}

export const COURSE_OFFERING = 'http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering';
