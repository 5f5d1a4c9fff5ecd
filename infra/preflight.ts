import { GetAccountSettingsCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import {
  DescribeSecretCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetServiceQuotaCommand, type ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { signingKeySecretName } from '#shared/domain/secrets.ts';
import { settingsFromContext, settingsFromProps, type SettingValues } from '#shared/runtime/settings.ts';

/**
 * `npm run cli -- preflight`: reads, in the account and region of the caller's credentials, what a
 * deploy of the stack with these settings needs (docs/operations.md, "Quotas a deployment needs"),
 * and says what would fail and why. It only reads: Lambda's account settings, three Service Quotas
 * and the signing key's description.
 */

/** Lambda keeps at least this much of the account's concurrency unreserved, and refuses a reservation below it. */
const UNRESERVED_MINIMUM = 100;

/** The Service Quotas codes read: Lambda's concurrency and API Gateway's account-wide throttle. */
const QUOTAS = {
  lambdaConcurrency: { ServiceCode: 'lambda', QuotaCode: 'L-B99A9384' },
  apiRate: { ServiceCode: 'apigateway', QuotaCode: 'L-8A5B8E43' },
  apiBurst: { ServiceCode: 'apigateway', QuotaCode: 'L-CDF5615A' },
} as const;

export interface PreflightClients {
  lambda: Pick<LambdaClient, 'send'>;
  quotas: Pick<ServiceQuotasClient, 'send'>;
  secrets: Pick<SecretsManagerClient, 'send'>;
}

/** The settings the checks compare with the account: the stack's, from context. */
export type PreflightSettings = Pick<
  SettingValues<'aws'>,
  | 'senderMaxConcurrency'
  | 'slowSenderMaxConcurrency'
  | 'senderReservedConcurrency'
  | 'slowSenderReservedConcurrency'
  | 'apiRateLimit'
  | 'apiBurstLimit'
  | 'adminRateLimit'
  | 'adminBurstLimit'
> & { secretsPrefix: string };

/** `fail`: the deploy would fail; `warn`: it deploys, but something would throttle or could not be read; `ok`. */
type Verdict = 'ok' | 'warn' | 'fail';

export interface PreflightCheck {
  check: string;
  verdict: Verdict;
  message: string;
}

/**
 * The stack's settings as a deploy would read them: cdk.json's context, then `key=value` pairs as
 * `cdk deploy -c key=value` takes them. Throws, naming the key, on a value that does not parse.
 */
export function preflightSettings(cdkContext: Record<string, unknown>, pairs: readonly string[]): PreflightSettings {
  const context: Record<string, unknown> = { ...cdkContext };
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--context ${JSON.stringify(pair)}: expected key=value`);
    context[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const settings = settingsFromProps(
    'aws',
    settingsFromContext((key) => context[key]),
  );
  return { ...settings, secretsPrefix: settings.secretsPrefix ?? settings.stackName };
}

const count = (n: number) => n.toLocaleString('en-US');

/** The reservations fit (Lambda's rule), and the lanes' maximum concurrency fits what is unreserved. */
async function lambdaConcurrency(clients: PreflightClients, settings: PreflightSettings): Promise<PreflightCheck[]> {
  const { AccountLimit } = await clients.lambda.send(new GetAccountSettingsCommand({}));
  const quota = AccountLimit?.ConcurrentExecutions ?? 0;
  const unreserved = AccountLimit?.UnreservedConcurrentExecutions ?? 0;
  const reserved = (settings.senderReservedConcurrency ?? 0) + (settings.slowSenderReservedConcurrency ?? 0);
  const lanes = settings.senderMaxConcurrency + settings.slowSenderMaxConcurrency;
  const checks: PreflightCheck[] = [];
  if (reserved > 0) {
    const left = unreserved - reserved;
    checks.push(
      left < UNRESERVED_MINIMUM
        ? {
            check: 'Lambda reserved concurrency',
            verdict: 'fail',
            message: `the senders' reservations (${count(reserved)}) would leave ${count(left)} of the account's ${count(unreserved)} unreserved; Lambda refuses a reservation that leaves less than ${UNRESERVED_MINIMUM}, so the deploy would fail and roll back. Lower senderReservedConcurrency and slowSenderReservedConcurrency, or raise the quota (Service Quotas ${QUOTAS.lambdaConcurrency.QuotaCode}, now ${count(quota)})`,
          }
        : {
            check: 'Lambda reserved concurrency',
            verdict: 'ok',
            message: `the senders' reservations (${count(reserved)}) leave ${count(left)} unreserved (Lambda needs ${UNRESERVED_MINIMUM})`,
          },
    );
  }
  const pool = reserved > 0 ? unreserved - reserved : unreserved;
  checks.push(
    reserved === 0 && lanes > pool
      ? {
          check: 'Lambda concurrency for the lanes',
          verdict: 'warn',
          message: `the lanes may run ${count(lanes)} senders at once (senderMaxConcurrency + slowSenderMaxConcurrency), more than the account's ${count(unreserved)} unreserved (quota ${count(quota)}): the stack deploys, but under load Lambda throttles the senders and the API. Request a higher quota (Service Quotas ${QUOTAS.lambdaConcurrency.QuotaCode}) or lower the lanes' concurrency`,
        }
      : {
          check: 'Lambda concurrency for the lanes',
          verdict: 'ok',
          message: `the account's concurrency quota is ${count(quota)}, ${count(unreserved)} unreserved; the lanes ask for at most ${count(lanes)}${reserved > 0 ? ', within their reservations' : ''}`,
        },
  );
  return checks;
}

async function quotaValue(clients: PreflightClients, quota: { ServiceCode: string; QuotaCode: string }) {
  const { Quota } = await clients.quotas.send(new GetServiceQuotaCommand(quota));
  return { value: Quota?.Value ?? 0, adjustable: Quota?.Adjustable ?? false };
}

/** The Lambda quota as Service Quotas has it: whether it can be raised, when it is below AWS's usual 1,000. */
async function lambdaQuota(clients: PreflightClients): Promise<PreflightCheck> {
  const { value, adjustable } = await quotaValue(clients, QUOTAS.lambdaConcurrency);
  return {
    check: 'Lambda concurrency quota',
    verdict: value < 1000 ? 'warn' : 'ok',
    message:
      value < 1000
        ? `${count(value)}, below the usual 1,000 (new accounts start low): ${adjustable ? `request an increase in Service Quotas (${QUOTAS.lambdaConcurrency.QuotaCode})` : 'not adjustable here'}`
        : `${count(value)}`,
  };
}

/** The stage's and the operator routes' limits count against the account's throttle, which every API in the region shares. */
async function apiThrottle(clients: PreflightClients, settings: PreflightSettings): Promise<PreflightCheck> {
  const rate = await quotaValue(clients, QUOTAS.apiRate);
  const burst = await quotaValue(clients, QUOTAS.apiBurst);
  const rateAsked = Math.max(settings.apiRateLimit, settings.adminRateLimit);
  const burstAsked = Math.max(settings.apiBurstLimit, settings.adminBurstLimit);
  const over = rateAsked > rate.value || burstAsked > burst.value;
  return {
    check: 'API Gateway throttle',
    verdict: over ? 'warn' : 'ok',
    message: over
      ? `the stack allows up to ${count(rateAsked)} requests per second (bursts of ${count(burstAsked)}), above the account's ${count(rate.value)} (bursts of ${count(burst.value)}, Service Quotas ${QUOTAS.apiRate.QuotaCode} and ${QUOTAS.apiBurst.QuotaCode}): requests beyond the account's limit get 429 whatever the stage allows`
      : `the account allows ${count(rate.value)} requests per second (bursts of ${count(burst.value)}); the stack asks at most ${count(rateAsked)} (${count(burstAsked)})`,
  };
}

/** A key under the stack's secrets prefix is adopted; one scheduled for deletion is restored by the deploy. */
async function signingKey(clients: PreflightClients, settings: PreflightSettings): Promise<PreflightCheck> {
  const name = signingKeySecretName(settings.secretsPrefix);
  const check = 'signing key';
  try {
    const { DeletedDate } = await clients.secrets.send(new DescribeSecretCommand({ SecretId: name }));
    return DeletedDate
      ? {
          check,
          verdict: 'ok',
          message: `${name} is scheduled for deletion (since ${DeletedDate.toISOString()}): the deploy restores it and keeps it, so receivers keep verifying`,
        }
      : { check, verdict: 'ok', message: `${name} exists: the stack adopts it as it is` }; // a re-deploy, or a new stack on an old prefix
  } catch (error) {
    if (error instanceof ResourceNotFoundException)
      return { check, verdict: 'ok', message: `${name} does not exist yet: the deploy creates it` };
    throw error;
  }
}

/** Runs a check; one that cannot read what it needs (no permission, no such quota in the region) says so as a warning. */
async function attempt(
  check: string,
  run: () => Promise<PreflightCheck | PreflightCheck[]>,
): Promise<PreflightCheck[]> {
  try {
    return [await run()].flat();
  } catch (error) {
    return [{ check, verdict: 'warn', message: `could not check: ${(error as Error).message}` }];
  }
}

/** Every check, in order: Lambda concurrency, the Lambda quota, API Gateway's throttle, the signing key. */
export async function preflight(clients: PreflightClients, settings: PreflightSettings): Promise<PreflightCheck[]> {
  return [
    ...(await attempt('Lambda concurrency', () => lambdaConcurrency(clients, settings))),
    ...(await attempt('Lambda concurrency quota', () => lambdaQuota(clients))),
    ...(await attempt('API Gateway throttle', () => apiThrottle(clients, settings))),
    ...(await attempt('signing key', () => signingKey(clients, settings))),
  ];
}
