#!/usr/bin/env node
/** The operator CLI (`npm run cli -- <command>`), against the local service by default. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { adminTokenFile, DEFAULT_PORT } from '#infra/local/env.ts';
import { Fecb8e2Table } from '#infra/migrate/fecb8e2.ts';
import { fileCheckpoint, migrate } from '#infra/migrate/migrate.ts';
import { preflight, preflightSettings, type PreflightSettings } from '#infra/preflight.ts';
import { DynamoDbStore } from '#shared/adapters/dynamodb-store.ts';
import { SETTINGS, settingsFromEnv, type SettingValues } from '#shared/runtime/settings.ts';
import { MAX_BATCH_EVENTS } from '#shared/domain/webhooks/schemas.ts';
import { parseEventsFile } from './events-file.ts';
import { KEYS_HELP, KeysUsageError, runKeys } from './keys.ts';

const HELP = `Usage: npm run cli -- <command> [options]

Commands:
  org create --name <name>            create an organization; prints it and its API key (shown once)
  publish --org <id> --type <webhook_type> --object-type <type> --object <json | @file>
          [--idempotency-key <key>]   publish an event to every subscribed endpoint of the organization
  publish --file <events.json>        publish many events (a JSON array, or JSON lines, of publish bodies)
                                      through the batch route, 100 per request; prints a line per event
                                      and exits 1 if any was refused (--json: the per-event results)
  dlq status                          dead-letter queue: message count and oldest message age
  dlq redrive                         move every dead-letter message back to the delivery queue
${KEYS_HELP}

AWS commands (the account and region of your AWS credentials, not the local service):
  preflight [--context key=value ...] what a deploy with cdk.json's context (and these values, as
                                      cdk deploy -c takes them) would need from the account: Lambda
                                      concurrency, API Gateway's throttle, the signing key; says what
                                      would fail and why, changes nothing; exits 1 if the deploy would fail
  migrate --from <table> --to <table> [--webhooks] [--checkpoint <file>]
                                      copy organizations (API keys, HMAC tokens) and endpoints, and with
                                      --webhooks finished webhooks, from an earlier deployment's table into
                                      this one's; repeatable, and resumes from its checkpoint (default
                                      .migrate-<from>-<to>.json); UPGRADING.md has the runbook

Options:
  --url <url>      API base URL (default http://127.0.0.1:$PORT, PORT defaulting to ${DEFAULT_PORT})
  --token <token>  admin token (default $ADMIN_TOKEN, else the one \`npm start\` saved in $DATA_DIR/admin-token)
  --json           print JSON only, for scripts
  -h, --help       this help
`;

class UsageError extends Error {}

interface Options {
  url: string;
  token: string;
  json: boolean;
}

async function adminToken(given: string | undefined, local: SettingValues<'local'>): Promise<string> {
  if (given) return given;
  if (local.adminToken) return local.adminToken;
  const file = adminTokenFile(resolve(local.dataDir));
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    throw new UsageError(
      `no admin token: pass --token, set ADMIN_TOKEN, or run \`npm start\` once (it saves one in ${file})`,
    );
  }
}

async function call(options: Options, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetch(`${options.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw new Error(
      `cannot reach ${options.url} (${(error as Error).cause ?? (error as Error).message}); is \`npm start\` running?`,
      { cause: error },
    );
  }
  const text = await response.text();
  const parsed = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${method} ${path} failed with ${response.status}: ${text}`);
  return parsed;
}

function progressBar(done: number, total: number, width = 30): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

async function objectArg(raw: string | undefined): Promise<unknown> {
  if (!raw) throw new UsageError('--object is required (JSON, or @file)');
  const text = raw.startsWith('@') ? await readFile(raw.slice(1), 'utf8') : raw;
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError('--object is not valid JSON');
  }
}

type BatchResult = {
  index: number;
  status: number;
  webhooks?: { lago_id: string; webhook_url: string }[];
  error?: Record<string, unknown>;
};

function describeResult(result: BatchResult): string {
  if (result.webhooks) {
    return result.webhooks.length
      ? `#${result.index} ${result.status} queued ${result.webhooks.map((w) => `${w.lago_id} -> ${w.webhook_url}`).join(', ')}`
      : `#${result.index} ${result.status} no endpoint subscribes to this type`;
  }
  const error = result.error ?? {};
  const why = error.error_details ? JSON.stringify(error.error_details) : (error.code ?? error.message ?? error.error);
  return `#${result.index} ${result.status} refused: ${String(why)}`;
}

async function publishFile(options: Options, file: string): Promise<BatchResult[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UsageError(`cannot read ${file}`);
  }
  let events: unknown[];
  try {
    events = parseEventsFile(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const results: BatchResult[] = [];
  for (let start = 0; start < events.length; start += MAX_BATCH_EVENTS) {
    let chunk: BatchResult[];
    try {
      ({ results: chunk } = (await call(options, 'POST', '/admin/v1/webhooks/batch', {
        events: events.slice(start, start + MAX_BATCH_EVENTS),
      })) as { results: BatchResult[] });
    } catch (error) {
      // What was published is said before the error, so a rerun (with idempotency keys) can be judged.
      if (results.length > 0)
        console.log(options.json ? JSON.stringify({ results }, null, 2) : results.map(describeResult).join('\n'));
      throw new Error(`events #${start} to #${events.length - 1} were not published: ${(error as Error).message}`, {
        cause: error,
      });
    }
    // Indexes count from the start of the file, not of the request.
    results.push(...chunk.map((r) => ({ ...r, index: r.index + start })));
  }
  return results;
}

const ARGS = {
  name: { type: 'string' },
  org: { type: 'string' },
  type: { type: 'string' },
  'object-type': { type: 'string' },
  object: { type: 'string' },
  'idempotency-key': { type: 'string' },
  file: { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
  context: { type: 'string', short: 'c', multiple: true },
  from: { type: 'string' },
  to: { type: 'string' },
  webhooks: { type: 'boolean', default: false },
  checkpoint: { type: 'string' },
  json: { type: 'boolean', default: false },
  'activate-in': { type: 'string' },
  aws: { type: 'boolean', default: false },
  prefix: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof ARGS; allowPositionals: true }>>['values'];

/** What a command has to work with: the parsed options, and how to print its answer. */
interface Context {
  options: Options;
  values: Values;
  /** Prints `human`, or `data` as JSON (and nothing else) with --json. */
  print: (human: string, data: unknown) => void;
}

async function createOrganization({ options, values, print }: Context): Promise<void> {
  if (!values.name) throw new UsageError('org create needs --name <name>');
  const result = (await call(options, 'POST', '/admin/v1/organizations', { name: values.name })) as {
    organization: { lago_id: string; name: string };
    api_key: string;
  };
  print(
    `organization ${result.organization.name}\n  lago_id  ${result.organization.lago_id}\n  api_key  ${result.api_key}   (shown once: keep it now)`,
    result,
  );
}

async function publishFromFile({ options, print }: Context, file: string): Promise<void> {
  const results = await publishFile(options, file);
  const refused = results.filter((r) => !r.webhooks).length;
  print(
    `${results.map(describeResult).join('\n')}\n${results.length} event(s): ${results.length - refused} accepted, ${refused} refused`,
    { results },
  );
  if (refused > 0) process.exitCode = 1;
}

async function publish(context: Context): Promise<void> {
  const { options, values, print } = context;
  if (values.file) return publishFromFile(context, values.file);
  if (!values.org || !values.type)
    throw new UsageError('publish needs --org <id> and --type <webhook_type>, or --file <events.json>');
  const result = (await call(options, 'POST', '/admin/v1/webhooks', {
    organization_id: values.org,
    webhook_type: values.type,
    object_type: values['object-type'] ?? values.type.split('.')[0],
    object: await objectArg(values.object),
    ...(values['idempotency-key'] ? { idempotency_key: values['idempotency-key'] } : {}),
  })) as { webhooks: { lago_id: string; webhook_url: string }[] };
  print(
    result.webhooks.length
      ? result.webhooks.map((w) => `queued ${w.lago_id} -> ${w.webhook_url}`).join('\n')
      : 'no endpoint subscribes to this type',
    result,
  );
}

async function deadLetterStatus({ options, print }: Context): Promise<void> {
  const result = (await call(options, 'GET', '/admin/v1/dead_letters')) as {
    dead_letters: { count: number; oldest_age_seconds: number | null };
  };
  const { count, oldest_age_seconds: age } = result.dead_letters;
  print(`dead-letter queue: ${count} message(s)${age !== null ? `, oldest ${age} s old` : ''}`, result);
}

async function deadLetterRedrive({ options, print }: Context): Promise<void> {
  const count = async () =>
    ((await call(options, 'GET', '/admin/v1/dead_letters')) as { dead_letters: { count: number } }).dead_letters.count;
  const before = await count();
  const showProgress = !options.json && process.stderr.isTTY;
  // Locally the move runs within the request; on AWS the request starts an SQS move task.
  // Either way the bar follows the dead-letter count until the move is over.
  let finished = false;
  const redrive = call(options, 'POST', '/admin/v1/dead_letters/redrive').finally(() => (finished = true));
  redrive.catch(() => undefined); // awaited below; this only keeps Node from calling it unhandled meanwhile
  const draw = (left: number) =>
    showProgress && process.stderr.write(`\r${progressBar(Math.max(0, before - left), before)}`);
  while (!finished) {
    draw(await count());
    await new Promise((r) => setTimeout(r, 200));
  }
  const result = (await redrive) as { redrive: { moved: number; running: boolean } };
  let left = await count();
  while (result.redrive.running && left > 0) {
    draw(left);
    await new Promise((r) => setTimeout(r, 1000));
    left = await count();
  }
  draw(left);
  if (showProgress) process.stderr.write('\n');
  const moved = result.redrive.running ? Math.max(0, before - left) : result.redrive.moved;
  print(`moved ${moved} message(s) back to the delivery queue`, { redrive: { moved, remaining: left } });
}

const VERDICTS = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;

/** What a deploy would need from the account (infra/preflight.ts). */
async function runPreflight({ values, print }: Pick<Context, 'values' | 'print'>): Promise<void> {
  const cdkJson = JSON.parse(await readFile(new URL('../cdk.json', import.meta.url), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  let settings: PreflightSettings;
  try {
    settings = preflightSettings(cdkJson.context ?? {}, values.context ?? []);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const checks = await preflight(
    { lambda: new LambdaClient({}), quotas: new ServiceQuotasClient({}), secrets: new SecretsManagerClient({}) },
    settings,
  );
  const failed = checks.filter((check) => check.verdict === 'fail').length;
  print(
    `${checks.map((c) => `${VERDICTS[c.verdict]} ${c.check}: ${c.message}`).join('\n')}\n${failed > 0 ? `${failed} check(s) say the deploy would fail` : 'nothing stops the deploy'}`,
    { checks },
  );
  if (failed > 0) process.exitCode = 1;
}

/** Copies an earlier deployment's table into this one's (infra/migrate/). */
async function runMigrate({ values, print }: Pick<Context, 'values' | 'print'>): Promise<void> {
  if (!values.from || !values.to) throw new UsageError('migrate needs --from <earlier table> and --to <current table>');
  const client = new DynamoDBClient({});
  const checkpoint = values.checkpoint ?? `.migrate-${values.from}-${values.to}.json`;
  const result = await migrate({
    source: new Fecb8e2Table(client, values.from),
    target: new DynamoDbStore(client, values.to, { retentionDays: SETTINGS.webhookRetentionDays.default }),
    checkpoint: fileCheckpoint(checkpoint),
    webhooks: values.webhooks ?? false,
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  const { organizations, endpoints, webhooks } = result.counts;
  print(
    `organizations: ${organizations.copied} copied, ${organizations.present} already there\nendpoints: ${endpoints.copied} copied, ${endpoints.present} already there${values.webhooks ? `\nfinished webhooks: ${webhooks.copied + webhooks.present} copied or already there` : ''}\ncheckpoint: ${checkpoint} (delete it to run the copy again from the start)`,
    result,
  );
}

/** Commands on the AWS account, which need no local service nor admin token. */
const AWS_COMMANDS: Record<string, (context: Pick<Context, 'values' | 'print'>) => Promise<void>> = {
  preflight: runPreflight,
  migrate: runMigrate,
};

const COMMANDS: Record<string, (context: Context) => Promise<void>> = {
  'org create': createOrganization,
  publish,
  'dlq status': deadLetterStatus,
  'dlq redrive': deadLetterRedrive,
};

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: ARGS });
  const command = positionals.join(' ');
  if (values.help || command === '' || command === 'help') {
    process.stdout.write(HELP);
    return;
  }
  // The key commands work on the secrets themselves, not through the API: no admin token.
  if (positionals[0] === 'keys') {
    const print = (human: string, data: unknown) => console.log(values.json ? JSON.stringify(data, null, 2) : human);
    return runKeys(positionals.slice(1), {
      aws: values.aws ?? false,
      prefix: values.prefix,
      activateIn: values['activate-in'],
      print,
    });
  }
  const json = values.json ?? false;
  const awsCommand = Object.hasOwn(AWS_COMMANDS, command) ? AWS_COMMANDS[command] : undefined;
  if (awsCommand)
    return awsCommand({
      values,
      print: (human, data) => console.log(json ? JSON.stringify(data, null, 2) : human),
    });
  // PORT, DATA_DIR and ADMIN_TOKEN as npm start reads them (shared/runtime/settings.ts).
  const local = settingsFromEnv('local', process.env);
  const options: Options = {
    url: (values.url ?? `http://127.0.0.1:${local.port}`).replace(/\/+$/, ''),
    token: await adminToken(values.token, local),
    json: values.json ?? false,
  };
  const print = (human: string, data: unknown) => console.log(options.json ? JSON.stringify(data, null, 2) : human);
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!run) throw new UsageError(`unknown command "${command}"`);
  await run({ options, values, print });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (
    error instanceof UsageError ||
    error instanceof KeysUsageError ||
    (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
  ) {
    console.error(`error: ${(error as Error).message}\n`);
    console.error(HELP);
    process.exit(2);
  }
  console.error(`error: ${(error as Error).message}`);
  process.exit(1);
});
