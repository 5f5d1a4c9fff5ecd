import { depsFromEnv } from '#shared/runtime/aws-deps.ts';
import { lambdaHandler } from '#shared/runtime/lambda.ts';
import { webhookDeps, type Deps } from '#shared/runtime/deps.ts';
import { parseBody } from '#shared/domain/validation.ts';
import { RedriveRequest } from '#shared/domain/webhooks/schemas.ts';
import {
  header,
  json,
  jsonBody,
  lagoError,
  pathParam,
  router,
  type HttpEvent,
  type HttpHandler,
} from '#shared/runtime/http.ts';
import { createOrganization } from '#shared/domain/organizations/organizations.ts';
import { createPortalSession, revokePortalSessions } from '#shared/domain/organizations/portal-sessions.ts';
import { publish, publishBatch } from '#shared/domain/webhooks/publish.ts';

/** The console's URL as this request reached the service: its scheme, host and stage (API Gateway's `$default` has no path). */
function consoleUrl(event: HttpEvent): string {
  const { domainName, stage } = event.requestContext;
  const prefix = stage && stage !== '$default' ? `/${stage}` : '';
  return `${header(event, 'x-forwarded-proto') ?? 'https'}://${domainName}${prefix}/console/`;
}

/**
 * The operator API. On AWS, API Gateway authorizes these routes with IAM (SigV4); locally the
 * gateway checks the admin token. Either way this handler only runs for the operator.
 */
export function createAdminHandler(deps: Deps): HttpHandler {
  const webhooks = webhookDeps(deps);
  return router(
    {
      'POST /admin/v1/organizations': async (event) =>
        json(201, await createOrganization(deps.store, jsonBody(event), deps.now(), () => deps.keys.currentHmacRoot())),
      // A link that signs a person in to the console as the organization, for a while (portal-sessions.ts).
      'POST /admin/v1/organizations/{lago_id}/portal_sessions': async (event) =>
        json(201, await createPortalSession(deps, pathParam(event, 'lago_id'), jsonBody(event), consoleUrl(event))),
      'POST /admin/v1/organizations/{lago_id}/portal_sessions/revoke': async (event) =>
        json(200, await revokePortalSessions(deps, pathParam(event, 'lago_id'))),
      'POST /admin/v1/webhooks': async (event) => json(202, await publish(webhooks, jsonBody(event))),
      'POST /admin/v1/webhooks/batch': async (event) => {
        const results = await publishBatch(webhooks, jsonBody(event));
        // 200: the batch was processed; each event carries its own status and, if refused, Lago's error body.
        return json(200, {
          results: results.map((result, index) => {
            if (!('error' in result)) return { index, status: 202, webhooks: result.webhooks };
            const { status, body } = lagoError(result.error);
            // Stored but not all queued (503): its webhooks, which the sweeper will send.
            return { index, status, error: body, ...(result.webhooks ? { webhooks: result.webhooks } : {}) };
          }),
        });
      },
      'GET /admin/v1/dead_letters': async () => {
        const status = await deps.deadLetters.status();
        return json(200, { dead_letters: { count: status.count, oldest_age_seconds: status.oldestAgeSeconds } });
      },
      'POST /admin/v1/dead_letters/redrive': async (event) => {
        parseBody(RedriveRequest, jsonBody(event));
        const result = await deps.deadLetters.redrive();
        deps.logger.info(result, result.running ? 'dead-letter redrive started' : 'dead-letter queue redriven');
        // 202 while SQS moves the messages (AWS); GET /admin/v1/dead_letters shows the count going down.
        return json(result.running ? 202 : 200, { redrive: result });
      },
    },
    deps.logger,
  );
}

export const handler = lambdaHandler((runtime) => createAdminHandler(depsFromEnv(runtime)));
