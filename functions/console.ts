import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createConsoleHandler } from '#shared/runtime/console-assets.ts';
import { lambdaHandler } from '#shared/runtime/lambda.ts';
import { settingsFromEnv } from '#shared/runtime/settings.ts';

/** Where the built console is: beside the Lambda bundle (copied there at synth), else the Vite build in the repository. */
export function consoleAssetsDir(): string {
  const bundled = fileURLToPath(new URL('./console/', import.meta.url));
  return existsSync(`${bundled}index.html`) ? bundled : fileURLToPath(new URL('../console/dist/', import.meta.url));
}

/** The web console's static assets, for GET /console and /console/{proxy+}; the local gateway serves it too. */
export const handler = lambdaHandler(() =>
  createConsoleHandler(consoleAssetsDir(), settingsFromEnv('delivery', process.env).consoleFrameAncestors),
);
