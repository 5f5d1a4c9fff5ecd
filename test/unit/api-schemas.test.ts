// The response schemas (shared/domain/api-schemas.ts) are importable by the browser console: with the console's compiler
// options (no Node types), the module and everything it imports type-check.
import { dirname, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

describe('the response schemas', () => {
  it("compile under the console's options, without Node's types", () => {
    const configPath = resolve('console/tsconfig.json');
    const { config } = ts.readConfigFile(configPath, ts.sys.readFile);
    const { options } = ts.parseJsonConfigFileContent(config, ts.sys, dirname(configPath));
    const program = ts.createProgram([resolve('shared/domain/api-schemas.ts')], options);
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
    expect(problems).toEqual([]);
  }, 30_000);
});
