// Covers the settings table (shared/runtime/settings.ts): how its declarations hang together, local mode's settings read
// from the environment, and settings read from CDK context as the command line and cdk.json give them.
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  formatSetting,
  localDefaults,
  settingDeclarations,
  settingsFromContext,
  settingsFromEnv,
} from '#shared/runtime/settings.ts';

describe('the settings table', () => {
  const declarations = settingDeclarations().map(([, setting]) => setting);

  it('gives delivery settings a variable, local ones only a variable, AWS ones only a context key', () => {
    for (const setting of declarations) {
      if (setting.scope === 'delivery') expect(setting.env, setting.doc).toBeDefined();
      if (setting.scope === 'local')
        expect([setting.env !== undefined, setting.context], setting.doc).toEqual([true, undefined]);
      if (setting.scope === 'aws')
        expect([setting.env, setting.context !== undefined], setting.doc).toEqual([undefined, true]);
    }
  });

  it('spells no variable and no context key twice', () => {
    const variables = declarations.flatMap((s) => [s.env, s.formerEnv]).filter((name) => name !== undefined);
    const keys = declarations.flatMap((s) => [s.context, s.formerContext]).filter((key) => key !== undefined);
    expect(new Set(variables).size).toBe(variables.length);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('reads every default back from its variable as it is written', () => {
    for (const setting of declarations.filter((s) => s.env !== undefined)) {
      for (const value of [setting.default, setting.localDefault].filter((v) => v !== undefined))
        expect(setting.parse.parse(formatSetting(value)), setting.env).toEqual(value);
    }
  });
});

describe("settingsFromEnv('local')", () => {
  it('has the documented defaults, and counts an empty variable as unset', () => {
    const defaults = {
      port: 3000,
      dataDir: '.data',
      adminToken: undefined,
      sweepIntervalMs: 60_000,
      dynamoDbPort: undefined,
      sqsPort: undefined,
      dynamoDbEndpoint: undefined,
      sqsEndpoint: undefined,
    };
    expect(settingsFromEnv('local', {})).toEqual(defaults);
    expect(settingsFromEnv('local', { PORT: '', DATA_DIR: '', ADMIN_TOKEN: '' })).toEqual(defaults);
  });

  it('parses every setting', () => {
    expect(
      settingsFromEnv('local', {
        PORT: '4000',
        DATA_DIR: '/tmp/hooks',
        ADMIN_TOKEN: 'adm_secret',
        SWEEP_INTERVAL_MS: '100',
        DYNAMODB_PORT: '8000',
        SQS_PORT: '0',
        DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
        SQS_ENDPOINT: 'https://localhost:9324/',
      }),
    ).toEqual({
      port: 4000,
      dataDir: '/tmp/hooks',
      adminToken: 'adm_secret',
      sweepIntervalMs: 100,
      dynamoDbPort: 8000,
      sqsPort: 0,
      dynamoDbEndpoint: 'http://127.0.0.1:8000',
      sqsEndpoint: 'https://localhost:9324',
    });
  });

  const BAD: [string, Record<string, string>, string][] = [
    ['a port out of range', { PORT: '70000' }, 'PORT: expected at most 65535, got "70000"'],
    ['a port that is not a number', { SQS_PORT: 'any' }, 'SQS_PORT: expected a number, got "any"'],
    ['a sweep under 100 ms', { SWEEP_INTERVAL_MS: '50' }, 'SWEEP_INTERVAL_MS: expected at least 100, got "50"'],
    [
      'an endpoint with a path',
      { DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000/queue' },
      'DYNAMODB_ENDPOINT: expected a URL such as http://127.0.0.1:8000, got "http://127.0.0.1:8000/queue"',
    ],
    ['an endpoint without a scheme', { SQS_ENDPOINT: '127.0.0.1:9324' }, 'SQS_ENDPOINT: expected a URL such as'],
  ];
  for (const [what, env, message] of BAD) {
    it(`throws ConfigError naming the variable and its value for ${what}`, () => {
      expect(() => settingsFromEnv('local', env)).toThrow(ConfigError);
      expect(() => settingsFromEnv('local', env)).toThrow(message);
    });
  }

  it('names every variable that does not parse in one error', () => {
    expect(() => settingsFromEnv('local', { PORT: 'x', SWEEP_INTERVAL_MS: '1' })).toThrow(
      'invalid configuration: PORT: expected a number, got "x"; SWEEP_INTERVAL_MS: expected at least 100, got "1"',
    );
  });
});

describe('localDefaults', () => {
  it("are npm start's own defaults of the delivery settings: loopback exempt from the SSRF guard, http allowed", () => {
    expect(localDefaults('delivery')).toEqual({ allowCidrs: ['127.0.0.0/8', '::1/128'], allowHttp: true });
    expect(localDefaults('local')).toEqual({});
  });
});

describe('settingsFromContext', () => {
  const parse = (context: Record<string, unknown>) => settingsFromContext((key) => context[key]);

  it('reads the numbers, booleans and lists cdk.json holds as their text', () => {
    expect(
      parse({
        apiRateLimit: 2.5,
        deletionProtection: true,
        retrySchedule: [5, '60'],
        logGroupRetentionDays: 7,
        stackName: 'Acme',
      }),
    ).toEqual({
      apiRateLimit: 2.5,
      deletionProtection: true,
      retrySchedule: [5, 60],
      logGroupRetentionDays: 7,
      stackName: 'Acme',
    });
  });

  it('checks the delivery settings as the functions do, naming the key', () => {
    expect(() => parse({ webhookTimeoutMs: 50 })).toThrow('context webhookTimeoutMs: expected at least 100, got 50');
    expect(() => parse({ retrySchedule: '5,soon' })).toThrow(
      'context retrySchedule: item 2: expected whole seconds, got "5,soon"',
    );
    expect(() => parse({ allowCidrs: ['10.0.0.0/33'] })).toThrow('context allowCidrs: "10.0.0.0/33" is not a CIDR');
  });

  it('refuses what is neither text, a number, a boolean nor a list', () => {
    expect(() => parse({ alarmEmail: { to: 'ops@example.com' } })).toThrow(
      'context alarmEmail: expected text, a number, a boolean or a list, got {"to":"ops@example.com"}',
    );
  });
});
