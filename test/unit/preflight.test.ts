// Covers infra/preflight.ts (`npm run cli -- preflight`): the exact AWS calls it makes (Lambda's account settings, three Service Quotas, the signing key's description, mocked with aws-sdk-client-mock: nothing reaches AWS) and what it says would fail, throttle or be adopted, for a new account at a concurrency quota of 10, reservations that leave less than 100 unreserved, throttles above the account's, a key scheduled for deletion, and a check it may not read.
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  DescribeSecretCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  GetServiceQuotaCommand,
  ServiceQuotasClient,
  ServiceQuotasServiceException,
} from '@aws-sdk/client-service-quotas';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { preflight, preflightSettings, type PreflightSettings } from '#infra/preflight.ts';

const lambda = mockClient(LambdaClient);
const quotas = mockClient(ServiceQuotasClient);
const secrets = mockClient(SecretsManagerClient);
const clients = {
  lambda: new LambdaClient({ region: 'eu-west-1' }),
  quotas: new ServiceQuotasClient({ region: 'eu-west-1' }),
  secrets: new SecretsManagerClient({ region: 'eu-west-1' }),
};

/** The stack's defaults, as `preflight` with an empty context reads them. */
const DEFAULTS: PreflightSettings = preflightSettings({}, []);

interface Account {
  quota?: number;
  unreserved?: number;
  apiRate?: number;
  apiBurst?: number;
}

function account({ quota = 1000, unreserved = quota, apiRate = 10_000, apiBurst = 5000 }: Account = {}) {
  lambda.on(GetAccountSettingsCommand).resolves({
    AccountLimit: { ConcurrentExecutions: quota, UnreservedConcurrentExecutions: unreserved },
  });
  quotas
    .on(GetServiceQuotaCommand, { ServiceCode: 'lambda', QuotaCode: 'L-B99A9384' })
    .resolves({ Quota: { Value: quota, Adjustable: true } })
    .on(GetServiceQuotaCommand, { ServiceCode: 'apigateway', QuotaCode: 'L-8A5B8E43' })
    .resolves({ Quota: { Value: apiRate, Adjustable: true } })
    .on(GetServiceQuotaCommand, { ServiceCode: 'apigateway', QuotaCode: 'L-CDF5615A' })
    .resolves({ Quota: { Value: apiBurst, Adjustable: true } });
  secrets
    .on(DescribeSecretCommand)
    .rejects(new ResourceNotFoundException({ message: 'no such secret', $metadata: {} }));
}

const verdicts = (checks: Awaited<ReturnType<typeof preflight>>) =>
  Object.fromEntries(checks.map((check) => [check.check, check.verdict]));

beforeEach(() => {
  lambda.reset();
  quotas.reset();
  secrets.reset();
});

describe('preflight', () => {
  it('reads Lambda’s account settings, three quotas and the signing key, and nothing else', async () => {
    account();
    await preflight(clients, DEFAULTS);
    expect(lambda.calls().map((call) => [call.args[0].constructor.name, call.args[0].input])).toEqual([
      ['GetAccountSettingsCommand', {}],
    ]);
    expect(quotas.calls().map((call) => call.args[0].input)).toEqual([
      { ServiceCode: 'lambda', QuotaCode: 'L-B99A9384' },
      { ServiceCode: 'apigateway', QuotaCode: 'L-8A5B8E43' },
      { ServiceCode: 'apigateway', QuotaCode: 'L-CDF5615A' },
    ]);
    expect(secrets.calls().map((call) => [call.args[0].constructor.name, call.args[0].input])).toEqual([
      ['DescribeSecretCommand', { SecretId: 'LagoWebhooks/signing-key' }],
    ]);
  });

  it('passes a default stack in an account at the usual quota: nothing is reserved, the key will be created', async () => {
    account();
    const checks = await preflight(clients, DEFAULTS);
    expect(verdicts(checks)).toEqual({
      'Lambda concurrency for the lanes': 'ok',
      'Lambda concurrency quota': 'ok',
      'API Gateway throttle': 'ok',
      'signing key': 'ok',
    });
    expect(checks.find((check) => check.check === 'signing key')?.message).toBe(
      'LagoWebhooks/signing-key does not exist yet: the deploy creates it',
    );
  });

  it('warns, in a new account at a quota of 10, that the lanes (15 senders) would throttle, and how to raise the quota', async () => {
    account({ quota: 10 });
    const checks = await preflight(clients, DEFAULTS);
    expect(verdicts(checks)).toMatchObject({
      'Lambda concurrency for the lanes': 'warn',
      'Lambda concurrency quota': 'warn',
    });
    expect(checks.map((check) => check.message)).toEqual(
      expect.arrayContaining([
        "the lanes may run 15 senders at once (senderMaxConcurrency + slowSenderMaxConcurrency), more than the account's 10 unreserved (quota 10): the stack deploys, but under load Lambda throttles the senders and the API. Request a higher quota (Service Quotas L-B99A9384) or lower the lanes' concurrency",
        '10, below the usual 1,000 (new accounts start low): request an increase in Service Quotas (L-B99A9384)',
      ]),
    );
    expect(checks.some((check) => check.verdict === 'fail')).toBe(false);
  });

  it('fails reservations that would leave less than 100 unreserved, which Lambda refuses at deploy', async () => {
    account({ quota: 1000, unreserved: 950 });
    const settings = { ...DEFAULTS, senderReservedConcurrency: 800, slowSenderReservedConcurrency: 100 };
    const checks = await preflight(clients, settings);
    expect(checks[0]).toEqual({
      check: 'Lambda reserved concurrency',
      verdict: 'fail',
      message:
        "the senders' reservations (900) would leave 50 of the account's 950 unreserved; Lambda refuses a reservation that leaves less than 100, so the deploy would fail and roll back. Lower senderReservedConcurrency and slowSenderReservedConcurrency, or raise the quota (Service Quotas L-B99A9384, now 1,000)",
    });
  });

  it('passes reservations that leave 100 unreserved', async () => {
    account({ quota: 1000, unreserved: 1000 });
    const checks = await preflight(clients, {
      ...DEFAULTS,
      senderReservedConcurrency: 850,
      slowSenderReservedConcurrency: 50,
    });
    expect(checks[0]).toMatchObject({ check: 'Lambda reserved concurrency', verdict: 'ok' });
    expect(checks[0]!.message).toBe("the senders' reservations (900) leave 100 unreserved (Lambda needs 100)");
  });

  it('warns when the stage or the operator routes allow more than the account-wide API Gateway throttle', async () => {
    account({ apiRate: 50, apiBurst: 5000 });
    const checks = await preflight(clients, DEFAULTS);
    expect(checks.find((check) => check.check === 'API Gateway throttle')).toEqual({
      check: 'API Gateway throttle',
      verdict: 'warn',
      message:
        "the stack allows up to 100 requests per second (bursts of 200), above the account's 50 (bursts of 5,000, Service Quotas L-8A5B8E43 and L-CDF5615A): requests beyond the account's limit get 429 whatever the stage allows",
    });
  });

  it('says a key under the prefix is adopted, and one scheduled for deletion restored', async () => {
    account();
    secrets.on(DescribeSecretCommand).resolves({ Name: 'acme/signing-key' });
    const adopted = await preflight(clients, { ...DEFAULTS, secretsPrefix: 'acme' });
    expect(adopted.at(-1)?.message).toBe('acme/signing-key exists: the stack adopts it as it is');
    secrets
      .on(DescribeSecretCommand)
      .resolves({ Name: 'acme/signing-key', DeletedDate: new Date('2026-11-30T08:00:00Z') });
    const restored = await preflight(clients, { ...DEFAULTS, secretsPrefix: 'acme' });
    expect(restored.at(-1)?.message).toBe(
      'acme/signing-key is scheduled for deletion (since 2026-11-30T08:00:00.000Z): the deploy restores it and keeps it, so receivers keep verifying',
    );
  });

  it('warns that a check could not be made when a call is refused, and goes on with the others', async () => {
    account();
    quotas.on(GetServiceQuotaCommand).rejects(
      new ServiceQuotasServiceException({
        name: 'AccessDeniedException',
        message: 'not authorized to perform servicequotas:GetServiceQuota',
        $fault: 'client',
        $metadata: {},
      }),
    );
    const checks = await preflight(clients, DEFAULTS);
    expect(checks.filter((check) => check.message.startsWith('could not check'))).toEqual([
      {
        check: 'Lambda concurrency quota',
        verdict: 'warn',
        message: 'could not check: not authorized to perform servicequotas:GetServiceQuota',
      },
      {
        check: 'API Gateway throttle',
        verdict: 'warn',
        message: 'could not check: not authorized to perform servicequotas:GetServiceQuota',
      },
    ]);
    expect(verdicts(checks)['signing key']).toBe('ok');
  });
});

describe('preflightSettings', () => {
  it('reads cdk.json’s context, then key=value pairs over it, as cdk deploy -c does', () => {
    const settings = preflightSettings({ senderMaxConcurrency: 20, stackName: 'Acme' }, [
      'senderReservedConcurrency=30',
      'adminRateLimit=500',
    ]);
    expect(settings).toMatchObject({
      senderMaxConcurrency: 20,
      senderReservedConcurrency: 30,
      adminRateLimit: 500,
      secretsPrefix: 'Acme',
    });
  });

  it('refuses a pair without a key, and a value the deploy would refuse', () => {
    expect(() => preflightSettings({}, ['=5'])).toThrow('--context "=5": expected key=value');
    expect(() => preflightSettings({}, ['senderMaxConcurrency=1'])).toThrow(
      'context senderMaxConcurrency: expected at least 2, got "1"',
    );
  });
});
