/**
 * The provider's interactions. There are no passwords in Switchboard: the login prompt is the
 * inbound SSO of the sso module. The interaction sends the person to `/login` with a continuation
 * `{ type: 'oidc_interaction', uid }`; after discovery and the IdP, the completion handler records
 * the login on the interaction and sends the browser back to oidc-provider's resume endpoint, which
 * the person's browser alone can use (its resume cookie). The SSO answer arrives at the ACS or
 * OIDC callback, outside the interaction cookie's path, so the handler looks the interaction up by
 * its uid instead of by cookie: both the SSO flow and the resume step stay bound to this browser.
 *
 * Then: `application_access` (a refusal page naming the application and the trace id, with a way
 * back that tells the application `access_denied`) and `consent` (third-party applications; native
 * apps always confirm, RFC 8252 §8.6).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdapterPayload, Interaction } from 'oidc-provider';
import type { Database } from '../../platform/db/client.ts';
import type { Logger } from '../../platform/logging.ts';
import { hashToken } from '../../platform/secret-box.ts';
import type { EventLog } from '../events/service.ts';
import { type CompletionHandler, errorPage, type LoginService, sendPage } from '../sso/index.ts';
import type { SwitchboardAccount } from './accounts.ts';
import { PayloadAdapter } from './adapter.ts';
import type { ApplicationService } from './applications.ts';
import { accessRefusedPage, consentPage } from './pages.ts';
import type { ProviderHost } from './provider-host.ts';
import { readDomainHint, SelectionRefused, type SignInSelector } from './sign-in-selection.ts';

export const OIDC_INTERACTION = 'oidc_interaction';

/** A finished SSO login waiting to be handed to its interaction (see `complete`). */
interface PendingLogin {
  uid: string;
  accountId: string;
  ts: number;
  traceId: string;
  organizationId: string;
}

const PENDING_LOGIN_TTL = 300;

interface SwitchboardResult {
  traceId?: string;
  organizationId?: string;
}

export class InteractionService {
  readonly #host: ProviderHost;
  readonly #login: LoginService;
  readonly #applications: ApplicationService;
  readonly #selector: SignInSelector;
  readonly #events: EventLog;
  readonly #database: Database;
  readonly #logger: Logger;
  readonly #lookupAccount: AccountLookup;
  readonly #pendingLogins: PayloadAdapter;

  constructor(deps: {
    host: ProviderHost;
    login: LoginService;
    applications: ApplicationService;
    selector: SignInSelector;
    events: EventLog;
    database: Database;
    logger: Logger;
    lookupAccount: AccountLookup;
  }) {
    this.#lookupAccount = deps.lookupAccount;
    this.#pendingLogins = new PayloadAdapter(deps.database, 'SwitchboardPendingLogin');
    this.#host = deps.host;
    this.#login = deps.login;
    this.#applications = deps.applications;
    this.#selector = deps.selector;
    this.#events = deps.events;
    this.#database = deps.database;
    this.#logger = deps.logger;
  }

  /** `GET /interaction/:uid`: what the current prompt needs. */
  async show(request: FastifyRequest, reply: FastifyReply, uid: string) {
    const provider = await this.#host.current();
    const raw = this.#host.prepare(request);
    const details = await provider.interactionDetails(raw, reply.raw).catch(() => undefined);
    if (details?.uid !== uid) return expiredPage(reply);
    const client = await provider.Client.find(String(details.params.client_id));
    const applicationName = client?.clientName ?? 'the application';
    switch (details.prompt.name) {
      case 'login':
        return this.#startLogin(reply, details);
      case 'application_access':
        return this.#refuse(reply, details, applicationName);
      case 'consent': {
        // First-party applications never see a consent screen (an explicit prompt=consent, for
        // offline_access, is answered at once). Native apps still confirm (RFC 8252 §8.6).
        const firstParty = (await this.#applications.find(String(details.params.client_id)))?.firstParty;
        if (firstParty && !details.prompt.reasons.includes('native_client_prompt')) {
          return this.consent(request, reply, uid);
        }
        const account = details.session?.accountId
          ? await this.#lookupAccount(details.session.accountId)
          : undefined;
        const scopes = String(details.params.scope ?? '')
          .split(' ')
          .filter(Boolean);
        return sendPage(
          reply,
          200,
          consentPage({
            applicationName,
            userEmail: account?.user.email ?? null,
            scopes,
            action: `/interaction/${uid}/consent`,
            denyAction: `/interaction/${uid}/abort`,
          }),
        );
      }
      default:
        this.#logger.error({ prompt: details.prompt }, 'unknown interaction prompt');
        return sendPage(
          reply,
          500,
          errorPage({
            title: 'Sign-in failed',
            message: 'Something went wrong. Go back to the application and try again.',
          }),
        );
    }
  }

  /** `POST /interaction/:uid/consent`: the person allowed a third-party application. */
  async consent(request: FastifyRequest, reply: FastifyReply, uid: string) {
    const provider = await this.#host.current();
    const raw = this.#host.prepare(request);
    const details = await provider.interactionDetails(raw, reply.raw).catch(() => undefined);
    if (details?.uid !== uid || details.prompt.name !== 'consent' || !details.session)
      return expiredPage(reply);
    const grant = details.grantId
      ? ((await provider.Grant.find(details.grantId)) ??
        new provider.Grant({
          accountId: details.session.accountId,
          clientId: String(details.params.client_id),
        }))
      : new provider.Grant({
          accountId: details.session.accountId,
          clientId: String(details.params.client_id),
        });
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope?.length) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims?.length) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    const returnTo = await provider.interactionResult(
      raw,
      reply.raw,
      { consent: { grantId } },
      { mergeWithLastSubmission: true },
    );
    return reply.redirect(returnTo, 303);
  }

  /** `POST /interaction/:uid/abort`: tells the application `access_denied`. */
  async abort(request: FastifyRequest, reply: FastifyReply, uid: string) {
    const provider = await this.#host.current();
    const raw = this.#host.prepare(request);
    const details = await provider.interactionDetails(raw, reply.raw).catch(() => undefined);
    if (details?.uid !== uid) return expiredPage(reply);
    const description =
      details.prompt.name === 'application_access'
        ? "The user's organization may not use this application."
        : 'The user declined.';
    const returnTo = await provider.interactionResult(
      raw,
      reply.raw,
      { error: 'access_denied', error_description: description },
      { mergeWithLastSubmission: false },
    );
    return reply.redirect(returnTo, 303);
  }

  /**
   * The SSO completion for `oidc_interaction`: records the login on the interaction and resumes
   * the authorization request in this browser.
   */
  readonly complete: CompletionHandler = async (completion) => {
    const { reply, user, organization, traceId, continuation } = completion;
    const provider = await this.#host.current();
    const uid = typeof continuation.uid === 'string' ? continuation.uid : '';
    const interaction = uid ? await provider.Interaction.find(uid) : undefined;
    if (interaction?.prompt.name !== 'login') {
      await completion.recordTrace(false, 'The application’s sign-in request had expired; nothing to resume');
      return sendPage(
        reply,
        400,
        errorPage({
          title: 'Sign-in expired',
          message:
            'You are signed in, but the application’s sign-in request expired meanwhile. Go back to the application and try again.',
          traceId,
        }),
      );
    }
    // The login is handed to the interaction only in the browser that holds the interaction's
    // cookie (the one that made the authorization request): a one-time token carries it there.
    // Otherwise someone could start an authorization, send the /login link to a victim, and
    // resume the authorization in their own browser signed in as the victim.
    const token = randomBytes(32).toString('base64url');
    const pending: PendingLogin = {
      uid,
      accountId: user.id,
      ts: Math.floor(Date.now() / 1000),
      traceId,
      organizationId: organization.id,
    };
    await this.#pendingLogins.upsert(
      hashToken(token),
      pending as unknown as AdapterPayload,
      PENDING_LOGIN_TTL,
    );
    const clientId = String(interaction.params.client_id ?? '');
    const client = await provider.Client.find(clientId);
    await completion.recordTrace(true, `Handed back to ${client?.clientName ?? clientId} (OpenID Connect)`, {
      application: clientId,
    });
    return reply.redirect(
      `/interaction/${encodeURIComponent(uid)}/login?${new URLSearchParams({ token })}`,
      303,
    );
  };

  /**
   * `GET /interaction/:uid/login?token=`: the SSO login comes back to the interaction, in the
   * browser that started it (its interaction cookie), and the authorization resumes.
   */
  async finishLogin(request: FastifyRequest, reply: FastifyReply, uid: string, token: string | undefined) {
    const provider = await this.#host.current();
    const raw = this.#host.prepare(request);
    const details = await provider.interactionDetails(raw, reply.raw).catch(() => undefined);
    if (details?.uid !== uid || details.prompt.name !== 'login') {
      return sendPage(
        reply,
        400,
        errorPage({
          title: 'Sign-in started elsewhere',
          message:
            'This sign-in was started in another browser (or has expired). For your protection it can only finish where it began: go back to the application and sign in again.',
        }),
      );
    }
    const key = token ? hashToken(token) : '';
    const pending = key
      ? ((await this.#pendingLogins.find(key)) as unknown as PendingLogin | undefined)
      : undefined;
    if (pending?.uid !== uid) return expiredPage(reply);
    // One use: a second request with the same token (replay, double click) finds it consumed.
    try {
      await this.#pendingLogins.consume(key);
    } catch {
      return expiredPage(reply);
    }
    await this.#pendingLogins.destroy(key);
    const switchboard: SwitchboardResult = {
      traceId: pending.traceId,
      organizationId: pending.organizationId,
    };
    const returnTo = await provider.interactionResult(
      raw,
      reply.raw,
      { login: { accountId: pending.accountId, ts: pending.ts, remember: true }, switchboard },
      { mergeWithLastSubmission: false },
    );
    return reply.redirect(returnTo, 303);
  }

  async #startLogin(reply: FastifyReply, details: Interaction) {
    const clientId = String(details.params.client_id ?? '');
    const application = await this.#applications.find(clientId);
    // The application may select the IdP (`connection=`) or the organization (`organization=`),
    // e.g. the instance of the coaching app that serves one client, or a "Sign in with Acme SSO"
    // button; the authorization endpoint checked both (sign-in-selection.ts). Checked again here:
    // the connection may have been deleted since.
    let selection: Awaited<ReturnType<SignInSelector['resolve']>>;
    let domainHint: string | undefined;
    try {
      selection = await this.#selector.resolve(application ?? undefined, details.params);
      domainHint = readDomainHint(details.params.domain_hint);
    } catch (error) {
      if (!(error instanceof SelectionRefused)) throw error;
      return sendPage(
        reply,
        400,
        errorPage({
          title: 'Sign-in not available',
          message: `${application?.name ?? 'The application'} asked for a sign-in method that is not available. Go back to the application and try again.`,
        }),
      );
    }
    let organizationId = selection?.organization.id ?? application?.organizationId ?? undefined;
    if (!organizationId && application?.allowedOrganizationIds?.length === 1) {
      organizationId = application.allowedOrganizationIds[0];
    }
    const loginHint = typeof details.params.login_hint === 'string' ? details.params.login_hint : undefined;
    const { url } = await this.#login.createLoginRequest({
      continuation: { type: OIDC_INTERACTION, uid: details.uid },
      ...(loginHint ? { loginHint } : {}),
      ...(domainHint ? { domainHint } : {}),
      ...(organizationId ? { organizationId } : {}),
      ...(selection?.connectionId ? { connectionId: selection.connectionId } : {}),
    });
    return reply.redirect(url, 303);
  }

  async #refuse(reply: FastifyReply, details: Interaction, applicationName: string) {
    const accountId = details.session?.accountId;
    const last = (details.lastSubmission ?? {}) as { switchboard?: SwitchboardResult };
    const found = accountId ? await this.#lookupAccount(accountId) : undefined;
    if (found) {
      await this.#database
        .transaction((tx) =>
          this.#events.append(tx, {
            organizationId: found.organization.id,
            type: 'application.access_refused',
            actor: { type: 'user', id: found.user.id, name: found.user.email ?? undefined },
            subjectType: 'application',
            subjectId: String(details.params.client_id ?? ''),
            data: {
              applicationId: String(details.params.client_id ?? ''),
              userId: found.user.id,
              traceId: last.switchboard?.traceId ?? null,
            },
          }),
        )
        .catch((error) => this.#logger.warn({ err: error }, 'could not record a refused application access'));
    }
    return sendPage(
      reply,
      403,
      accessRefusedPage({
        applicationName,
        organizationName: found?.organization.name ?? null,
        userEmail: found?.user.email ?? null,
        traceId: last.switchboard?.traceId ?? null,
        backAction: `/interaction/${details.uid}/abort`,
      }),
    );
  }
}

/** Finds the person behind a session (for the refusal and consent pages). */
export type AccountLookup = (
  accountId: string,
) => Promise<Pick<SwitchboardAccount, 'user' | 'organization'> | undefined>;

function expiredPage(reply: FastifyReply) {
  return sendPage(
    reply,
    400,
    errorPage({
      title: 'Sign-in expired',
      message:
        'This sign-in request has expired or was started in another browser. Go back to the application and try again.',
    }),
  );
}
