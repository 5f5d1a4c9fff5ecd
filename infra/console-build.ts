import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The web console's Vite build, which `npm start` serves and the console function carries in its bundle. */
export const CONSOLE_DIST = `${ROOT}console/dist`;

/**
 * Builds the web console once when it is missing, as on a fresh clone, with the project's own
 * `npm run build:console`. Synchronous, because a CDK construct cannot wait for a promise. Its
 * output goes to stderr: `cdk synth` prints the template on stdout.
 */
export function ensureConsoleBuilt(): void {
  if (existsSync(`${CONSOLE_DIST}/index.html`)) return;
  console.error('Building the web console (npm run build:console)…');
  execFileSync('npm', ['run', '--silent', 'build:console'], { stdio: ['ignore', 2, 2], cwd: ROOT });
}
