// Covers the synthesized template against cfn-lint (AWS's CloudFormation linter: resource schemas, property values, references), with the settings and reasons of .cfnlintrc.yaml. Skipped, saying so, only where cfn-lint is not installed (CI machines have it: pip install cfn-lint).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookStack } from '#infra/stack.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CDK_CONTEXT = (JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> })
  .context;

/** cfn-lint's version, or undefined when it is not on the PATH. */
function cfnLintVersion(): string | undefined {
  try {
    return execFileSync('cfn-lint', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

type Json = Record<string, unknown>;

interface Finding {
  Rule: { Id: string };
  Message: string;
  Filename: string;
}

const version = cfnLintVersion();
let dir: string;

/** cfn-lint's findings on a template, with the project's settings. */
function lint(template: unknown): Finding[] {
  const file = join(dir, `template-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(template));
  const run = spawnSync('cfn-lint', ['--config-file', join(ROOT, '.cfnlintrc.yaml'), '--format', 'json', file], {
    encoding: 'utf8',
  });
  if (run.error) throw run.error;
  // cfn-lint exits non-zero when it finds anything; its findings are on stdout either way.
  if (!run.stdout.trim()) throw new Error(`cfn-lint printed nothing: ${run.stderr}`);
  return JSON.parse(run.stdout) as Finding[];
}

describe.skipIf(!version)(
  `cfn-lint ${version ?? '(not installed: pip install cfn-lint; skipped)'} on the synthesized template`,
  () => {
    let template: Record<string, unknown>;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
      // Assets are not built: cfn-lint reads the template only.
      const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
      template = Template.fromStack(new WebhookStack(app, 'LagoWebhooks')).toJSON();
    });

    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('finds nothing that .cfnlintrc.yaml does not explain', () => {
      expect(lint(template).map((finding) => `${finding.Rule.Id} ${finding.Message}`)).toEqual([]);
    });

    it('does find a broken template: a function on a runtime Lambda does not have', () => {
      const broken = structuredClone(template) as { Resources: Record<string, { Type: string; Properties: Json }> };
      const [fn] = Object.values(broken.Resources).filter((resource) => resource.Type === 'AWS::Lambda::Function');
      fn!.Properties.Runtime = 'nodejs2.x';
      expect(lint(broken).map((finding) => finding.Rule.Id)).toContain('E3030');
    });
  },
);
