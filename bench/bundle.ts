import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';

/** The sender's deployed bundle, built as infra/constructs/function.ts has CDK build it, and its cold import. */

const ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface BundleFigures {
  bytes: number;
  /** A fresh `node` process importing the bundle: from just before the import to just after. */
  coldImportMs: number;
}

export async function measureSenderBundle(): Promise<BundleFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'lago-webhooks-bundle-'));
  try {
    const outfile = join(dir, 'index.mjs');
    await build({
      entryPoints: [join(ROOT, 'functions/sender.ts')],
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node24',
      minify: true,
      mainFields: ['module', 'main'],
      // As deployed: the AWS SDK is the Lambda runtime's, not bundled.
      external: ['@aws-sdk/*'],
      // The same banner as the deployed functions: bundled CommonJS still calls require() for built-ins.
      banner: {
        js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
      },
      logLevel: 'silent',
    });
    const { size } = await stat(outfile);
    // The cold import loads the SDK as on Lambda, from outside the bundle: here the repository's copy.
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const probe = join(dir, 'probe.mjs');
    await writeFile(
      probe,
      `const t0 = performance.now(); await import(${JSON.stringify(outfile)}); console.log(performance.now() - t0);\n`,
    );
    const { stdout } = await promisify(execFile)(process.execPath, [probe]);
    return { bytes: size, coldImportMs: Number(stdout.trim()) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
