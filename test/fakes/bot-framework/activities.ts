/**
 * Builders of the activities Teams posts to a bot's messaging endpoint, in their real shapes with
 * their quirks (flow-of-work.md §1.4, §1.7; Teams docs "subscribe to conversation events",
 * "Universal Actions for Adaptive Cards"; the Sentry installationUpdate fixture the reference cites):
 *
 * - `conversation.isGroup` is the **string** `"True"` in team scope, absent in personal scope;
 * - the tenant is in `channelData.tenant.id`, and only sometimes also in `conversation.tenantId`
 *   (`tenantOnlyInChannelData`);
 * - `serviceUrl` is regional and ends in `/` (`https://smba.trafficmanager.net/amer/`): store it
 *   verbatim and never build `//v3`;
 * - ids: users `29:…` (plus `aadObjectId`), the bot `28:<appId>`, personal conversations `a:…`,
 *   channels `19:…@thread.tacv2`, a thread `…;messageid=…`;
 * - Teams retries: a duplicate carries the **same activity id** (`duplicate()`).
 */
import { randomBytes, randomUUID } from 'node:crypto';

export interface TeamsUserRef {
  /** `29:…`, unique per bot and user. */
  id: string;
  aadObjectId: string;
  name?: string;
}

export interface ActivityContext {
  appId: string;
  botName?: string;
  tenantId: string;
  /** Regional service URL, normally with a trailing `/`. */
  serviceUrl: string;
  user: TeamsUserRef;
  /** Defaults to a new personal conversation id (`a:…`). */
  conversationId?: string;
  /** Put the tenant only in `channelData.tenant.id` (a quirk seen in real traffic). */
  tenantOnlyInChannelData?: boolean;
  /** Activity timestamp; defaults to now. */
  timestamp?: Date;
}

export interface TeamContext {
  /** The team's General channel / thread id, `19:…@thread.tacv2`. */
  teamId: string;
  teamName?: string;
  aadGroupId: string;
  channelId?: string;
}

export type Activity = Record<string, unknown> & {
  type: string;
  id: string;
  channelId: string;
  serviceUrl: string;
  conversation: Record<string, unknown> & { id: string };
};

/** A Teams user id as the Bot Framework gives it to one bot (`29:` + opaque base64url). */
export function newTeamsUserId(): string {
  return `29:1${randomBytes(48).toString('base64url')}`;
}

/** A personal (1:1 bot) conversation id (`a:` + opaque). */
export function newPersonalConversationId(): string {
  return `a:1${randomBytes(60).toString('base64url')}`;
}

/** A team channel id. */
export function newChannelConversationId(): string {
  return `19:${randomBytes(16).toString('hex')}@thread.tacv2`;
}

function newActivityId(): string {
  return `f:${randomUUID()}`;
}

let lastMessageId = 0;
/** Message activity ids are epoch-millisecond strings (kept strictly increasing here). */
function newMessageId(): string {
  lastMessageId = Math.max(Date.now(), lastMessageId + 1);
  return String(lastMessageId);
}

function base(context: ActivityContext, type: string, id: string = newActivityId()): Activity {
  const conversationId = context.conversationId ?? newPersonalConversationId();
  return {
    type,
    id,
    timestamp: (context.timestamp ?? new Date()).toISOString(),
    localTimestamp: (context.timestamp ?? new Date()).toISOString().replace('Z', '+00:00'),
    serviceUrl: context.serviceUrl,
    channelId: 'msteams',
    from: {
      id: context.user.id,
      name: context.user.name ?? 'Teams User',
      aadObjectId: context.user.aadObjectId,
    },
    conversation: {
      conversationType: 'personal',
      id: conversationId,
      ...(context.tenantOnlyInChannelData ? {} : { tenantId: context.tenantId }),
    },
    recipient: { id: `28:${context.appId}`, name: context.botName ?? 'Switchboard' },
    entities: [
      { locale: 'en-US', country: 'US', platform: 'Web', timezone: 'Europe/London', type: 'clientInfo' },
    ],
    channelData: { tenant: { id: context.tenantId } },
    locale: 'en-US',
    localTimezone: 'Europe/London',
  };
}

/**
 * The app was added to (or removed from) a user's personal scope, or a team. `action` also has the
 * `-upgrade` forms Teams sends when an app is updated.
 */
export function installationUpdate(
  context: ActivityContext & {
    action: 'add' | 'remove' | 'add-upgrade' | 'remove-upgrade';
    team?: TeamContext;
  },
): Activity {
  const activity = base(context, 'installationUpdate');
  activity.action = context.action;
  if (context.team) {
    activity.conversation = {
      isGroup: 'True',
      conversationType: 'channel',
      id: context.team.teamId,
      ...(context.tenantOnlyInChannelData ? {} : { tenantId: context.tenantId }),
    };
    activity.channelData = {
      settings: { selectedChannel: { id: context.team.channelId ?? context.team.teamId } },
      team: {
        id: context.team.teamId,
        name: context.team.teamName ?? 'Team',
        aadGroupId: context.team.aadGroupId,
      },
      source: { name: 'message' },
      tenant: { id: context.tenantId },
    };
  } else {
    activity.channelData = { source: { name: 'message' }, tenant: { id: context.tenantId } };
  }
  return activity;
}

/** The bot (`28:<appId>`) was added to a team: how team-scope references are captured (§1.4). */
export function conversationUpdateBotAdded(context: ActivityContext & { team: TeamContext }): Activity {
  const activity = base(context, 'conversationUpdate');
  activity.membersAdded = [{ id: `28:${context.appId}` }];
  activity.conversation = {
    isGroup: 'True',
    conversationType: 'channel',
    id: context.team.teamId,
    ...(context.tenantOnlyInChannelData ? {} : { tenantId: context.tenantId }),
  };
  activity.channelData = {
    team: {
      aadGroupId: context.team.aadGroupId,
      name: context.team.teamName ?? 'Team',
      id: context.team.teamId,
    },
    eventType: 'teamMemberAdded',
    tenant: { id: context.tenantId },
  };
  return activity;
}

/** A user pressed an `Action.Submit` button: a `message` activity with the card data in `value` (§1.7). */
export function messageWithValue(
  context: ActivityContext & { value: Record<string, unknown>; replyToId?: string },
): Activity {
  const activity = base(context, 'message', newMessageId());
  activity.value = context.value;
  if (context.replyToId) activity.replyToId = context.replyToId;
  activity.channelData = {
    source: { name: 'message' },
    legacy: { replyToId: context.replyToId },
    tenant: { id: context.tenantId },
  };
  return activity;
}

/** A plain text message from the user. */
export function textMessage(context: ActivityContext & { text: string }): Activity {
  const activity = base(context, 'message', newMessageId());
  activity.text = context.text;
  activity.textFormat = 'plain';
  return activity;
}

/**
 * `Action.Execute` on a Universal Actions card: an `invoke` named `adaptiveCard/action`, answered in
 * the HTTP response body (`{statusCode, type, value}`, see `checkAdaptiveCardInvokeResponse`).
 */
export function adaptiveCardAction(
  context: ActivityContext & { verb: string; data?: Record<string, unknown>; replyToId?: string },
): Activity {
  const activity = base(context, 'invoke');
  activity.name = 'adaptiveCard/action';
  activity.value = {
    action: { type: 'Action.Execute', id: randomUUID(), verb: context.verb, data: context.data ?? {} },
    trigger: 'manual',
  };
  if (context.replyToId) activity.replyToId = context.replyToId;
  return activity;
}

/** The same activity again, same id: Teams redelivers when the bot answered slowly or failed. */
export function duplicate(activity: Activity): Activity {
  return structuredClone(activity);
}

/** The content types an `adaptiveCard/action` invoke may answer with (Universal Actions docs, teams.ts). */
const INVOKE_RESPONSE_TYPES: Record<number, string[]> = {
  200: ['application/vnd.microsoft.card.adaptive', 'application/vnd.microsoft.activity.message'],
  400: ['application/vnd.microsoft.error'],
  401: ['application/vnd.microsoft.activity.loginRequest'],
  412: ['application/vnd.microsoft.error.preconditionFailed'],
  500: ['application/vnd.microsoft.error'],
};

/**
 * Checks a bot's answer to an `adaptiveCard/action` invoke against the documented shapes; returns
 * the problem, or undefined when the body is one Teams accepts.
 */
export function checkAdaptiveCardInvokeResponse(httpStatus: number, body: unknown): string | undefined {
  if (httpStatus !== 200) return `the HTTP status of an invoke answer is 200, got ${httpStatus}`;
  if (typeof body !== 'object' || body === null) return 'the invoke answer must be a JSON object';
  const { statusCode, type, value } = body as Record<string, unknown>;
  if (typeof statusCode !== 'number') return 'statusCode (number) is missing';
  const allowed = INVOKE_RESPONSE_TYPES[statusCode];
  if (!allowed) return `statusCode ${statusCode} is not one Teams understands`;
  if (typeof type !== 'string' || !allowed.includes(type))
    return `type for statusCode ${statusCode} must be one of ${allowed.join(', ')}`;
  if (type === 'application/vnd.microsoft.card.adaptive') {
    const card = value as Record<string, unknown> | undefined;
    if (card?.type !== 'AdaptiveCard') return 'value must be an AdaptiveCard';
    if (Number.parseFloat(String(card.version)) > 1.5)
      return `Teams renders Adaptive Cards up to 1.5, got ${card.version}`;
  }
  if (type === 'application/vnd.microsoft.activity.message' && typeof value !== 'string')
    return 'value must be a string message';
  return undefined;
}
