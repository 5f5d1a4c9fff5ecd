// The import rules of eslint.config.js (docs/architecture.md, "The layers"): an import that runs back up fails the lint.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();

/** The messages of the import rule for `source` as if it were the file at `filePath`. */
async function restricted(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${source}\nexport type Y = X;\n`, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const importing = (from: string) => `import type { X } from '${from}';`;

// ESLint's first run loads typescript-eslint, seconds on a busy 2-core machine.
describe('import boundaries', { timeout: 60_000 }, () => {
  it('keeps the domain free of the AWS SDK, the Lambda runtime, adapters, runtime glue and infra', async () => {
    for (const from of [
      '@aws-sdk/client-sqs',
      'aws-lambda',
      '@middy/core',
      '@aws-lambda-powertools/logger',
      '../adapters/sqs-queue.ts',
      '#shared/adapters/sqs-queue.ts',
      '../runtime/http.ts',
      '#infra/stack.ts',
      '../../infra/stack.ts',
      '#functions/api.ts',
      'node:http',
      'https',
      'node:dns',
    ]) {
      expect(await restricted('shared/domain/ids.ts', importing(from)), from).toHaveLength(1);
    }
    expect(
      await restricted('shared/domain/webhooks/views.ts', importing('../../adapters/dynamodb/keys.ts')),
    ).toHaveLength(1);
    expect(await restricted('shared/domain/webhooks/views.ts', importing('../model.ts'))).toEqual([]);
    expect(
      await restricted('shared/domain/delivery/deliver.ts', importing('../../adapters/http-client.ts')),
    ).toHaveLength(1);
  });

  it("lets the domain use node:net's address checks, and nothing of it that connects", async () => {
    const file = 'shared/domain/delivery/ssrf.ts';
    expect(await restricted(file, "import { isIP } from 'node:net';\ntype X = typeof isIP;")).toEqual([]);
    expect(await restricted(file, "import { connect } from 'node:net';\ntype X = typeof connect;")).toHaveLength(1);
    expect(await restricted(file, "import net from 'net';\ntype X = typeof net;")).toHaveLength(1);
  });

  it('covers a domain folder that does not exist yet, at any depth', async () => {
    for (const file of [
      'shared/domain/brand-new-feature/thing.ts',
      'shared/domain/brand-new-feature/deeper/thing.ts',
    ]) {
      expect(await restricted(file, importing('@aws-sdk/client-dynamodb')), file).toHaveLength(1);
      expect(await restricted(file, importing('#shared/adapters/dynamodb-store.ts')), file).toHaveLength(1);
      expect(await restricted(file, importing('#shared/runtime/config.ts')), file).toHaveLength(1);
      expect(await restricted(file, importing('../../model.ts')), file).toEqual([]);
    }
  });

  it('refuses a module at the top of shared/, where no layer rule would cover it', async () => {
    const [result] = await eslint.lintText('export const x = 1;\n', { filePath: 'shared/helpers.ts' });
    expect(result?.messages.map((m) => m.ruleId)).toContain('no-restricted-syntax');
  });

  it('lets adapters use the AWS SDK but not the runtime glue or infra', async () => {
    expect(await restricted('shared/adapters/sqs-queue.ts', importing('@aws-sdk/client-sqs'))).toEqual([]);
    expect(await restricted('shared/adapters/sqs-queue.ts', importing('../runtime/http.ts'))).toHaveLength(1);
    expect(await restricted('shared/adapters/dynamodb/keys.ts', importing('#infra/definitions.ts'))).toHaveLength(1);
  });

  it('keeps shared/runtime and the handlers out of infra', async () => {
    expect(await restricted('shared/runtime/http.ts', importing('#infra/local/service.ts'))).toHaveLength(1);
    expect(await restricted('functions/api.ts', importing('#infra/stack.ts'))).toHaveLength(1);
    expect(await restricted('functions/api.ts', importing('#shared/runtime/http.ts'))).toEqual([]);
    expect(await restricted('infra/stack.ts', importing('#shared/runtime/config.ts'))).toEqual([]);
  });
});
