// Covers the README's `npx cdk synth` on a fresh clone: after `npm ci` alone (no console build), with whatever `node` the
// shell has first on its PATH, the CDK app runs on the project's pinned Node, builds the web console and synthesizes.
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The project's files as a clone would have them: tracked or new, nothing git ignores (node_modules, console/dist). */
function copyProject(into: string): void {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT });
  for (const file of listed.toString('utf8').split('\0')) {
    if (file === '' || !existsSync(join(ROOT, file))) continue;
    mkdirSync(dirname(join(into, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(into, file));
  }
  // What `npm ci` installs, without installing it again.
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(into, 'node_modules'));
}

/** A user's shell: npx and node as installed, not this test run's node_modules/.bin. */
const PATH = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((dir) => !dir.endsWith(join('node_modules', '.bin')))
  .join(delimiter);

describe('npx cdk synth on a fresh clone', () => {
  let clone: string;
  let output: string;
  let outdir: string;

  beforeAll(() => {
    clone = mkdtempSync(join(tmpdir(), 'lago-webhooks-clone-'));
    copyProject(clone);
    outdir = join(clone, 'cdk.out');
    output = execFileSync('npx', ['cdk', 'synth', '--quiet'], {
      cwd: clone,
      env: { PATH, HOME: process.env.HOME },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  });

  afterAll(() => rmSync(clone, { recursive: true, force: true }));

  it('builds the web console and copies it into the console function', () => {
    expect(existsSync(join(clone, 'console', 'dist', 'index.html'))).toBe(true);
    const template = JSON.parse(readFileSync(join(outdir, 'LagoWebhooks.template.json'), 'utf8')) as {
      Resources: Record<
        string,
        { Type: string; Properties: { Description?: string }; Metadata?: Record<string, string> }
      >;
    };
    const consoleFunction = Object.values(template.Resources).find(
      (resource) => resource.Type === 'AWS::Lambda::Function' && resource.Properties.Description?.includes('console'),
    );
    const asset = consoleFunction?.Metadata?.['aws:asset:path'];
    expect(asset, output).toBeDefined();
    expect(readFileSync(join(outdir, asset!, 'console', 'index.html'), 'utf8')).toContain('<div id="app">');
  });

  it("cdk.json's app command runs on the pinned Node, also from a CDK CLI that did not put node_modules/.bin on the PATH", () => {
    const { app } = JSON.parse(readFileSync(join(clone, 'cdk.json'), 'utf8')) as { app: string };
    const appOutdir = join(clone, 'app.out');
    // As the CDK CLI runs it: in a shell, with the context and the output directory in the environment.
    execFileSync('sh', ['-c', app], {
      cwd: clone,
      env: {
        PATH,
        HOME: process.env.HOME,
        CDK_OUTDIR: appOutdir,
        CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [], stackName: 'Pinned' }),
      },
      stdio: 'pipe',
    });
    expect(existsSync(join(appOutdir, 'Pinned.template.json'))).toBe(true);
  });
});
