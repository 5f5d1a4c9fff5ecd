#!/usr/bin/env node
/** `npm start`: the whole service on this machine, in the foreground, until Ctrl-C. */
import { ConfigError } from '#shared/runtime/config.ts';
import { ensureConsoleBuilt } from '#infra/console-build.ts';
import { awsLimitsFromEnv } from '#infra/local/aws-limits/index.ts';
import { adminTokenFile, localSettings, ssrfGuardLines } from '#infra/local/env.ts';
import { PortInUseError, startLocalService } from '#infra/local/service.ts';

async function main(): Promise<number> {
  // A fresh clone's `npm start` serves the console too.
  ensureConsoleBuilt();
  const settings = await localSettings();
  const stack = await startLocalService({
    port: settings.port,
    dataDir: settings.dataDir,
    adminToken: settings.adminToken,
    config: settings.config,
    dynamoDbPort: settings.dynamoDbPort,
    sqsPort: settings.sqsPort,
    ...(settings.dynamoDbEndpoint ? { dynamoDbEndpoint: settings.dynamoDbEndpoint } : {}),
    ...(settings.sqsEndpoint ? { sqsEndpoint: settings.sqsEndpoint } : {}),
    sweepIntervalMs: settings.sweepIntervalMs,
    logLevel: settings.config.logLevel,
    awsLimits: awsLimitsFromEnv(),
    instrument: killInPublishFromEnv(),
  });
  // The token itself is never printed, so it does not end up in captured terminal or service logs.
  const tokenFile = adminTokenFile(settings.dataDir);
  const tokenSource = {
    env: 'from ADMIN_TOKEN',
    generated: `generated, saved in ${tokenFile}`,
    file: `saved in ${tokenFile}`,
  }[settings.adminTokenSource];
  const tokenShell = settings.adminTokenSource === 'env' ? '$ADMIN_TOKEN' : `$(cat ${tokenFile})`;
  console.log(`
Lago-compatible webhook service, local mode
  API base URL   ${stack.url}
  Web console    ${stack.url}/console/   (sign in with an organization API key)
  Admin token    ${tokenSource}
  Data           ${settings.dataDir}
  DynamoDB       ${stack.dynamoDbEndpoint}${settings.dynamoDbEndpoint ? ' (already running: DYNAMODB_ENDPOINT)' : ' (DynamoDB Local, started here)'}
  SQS            ${stack.sqsEndpoint}${settings.sqsEndpoint ? ' (already running: SQS_ENDPOINT)' : ' (fauxqs, started here)'}
  Retry schedule ${settings.config.retrySchedule.join(',')} s; timeout ${settings.config.timeoutMs} ms
  SSRF guard     ${ssrfGuardLines(settings.config.allowCidrs, stack.ownListeners)}
  AWS limits     ${settings.awsLimitsScale !== undefined ? `scale model at ${settings.awsLimitsScale} of AWS (docs/aws-limits.md)` : 'not enforced (AWS_LIMITS_SCALE=0.05 enforces a scale model)'}

Create an organization:
  curl -s -X POST ${stack.url}/admin/v1/organizations \\
    -H "Authorization: Bearer ${tokenShell}" -H "Content-Type: application/json" \\
    -d '{"name":"Acme"}'
  or: npm run cli -- org create --name Acme

Ctrl-C stops everything.
`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.log(`\n${signal}: stopping…`);
      stack.stop().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

/**
 * The chaos run's kill inside publish (bench/chaos.ts), not a setting: CHAOS_KILL_IN_PUBLISH=<n> SIGKILLs
 * this process's whole group (DynamoDB Local too, as the run's other kills do) right after the n-th
 * publish has stored its webhooks, before it queues them.
 */
function killInPublishFromEnv() {
  const armedAt = Number(process.env.CHAOS_KILL_IN_PUBLISH ?? 0);
  if (!(armedAt > 0)) return {};
  let publishes = 0;
  return { afterStore: () => void (++publishes === armedAt && process.kill(0, 'SIGKILL')) };
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof PortInUseError)
      console.error(`error: ${error.message}; is another \`npm start\` running? Set PORT to use another port.`);
    else if (error instanceof ConfigError) console.error(`error: ${error.message}`);
    else console.error(error);
    process.exit(1);
  },
);
