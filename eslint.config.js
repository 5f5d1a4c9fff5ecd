import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

/**
 * The direction of imports (docs/architecture.md, "The layers"): handlers and infra/ sit on top of
 * shared/runtime/ (HTTP, logging, metrics, config, wiring), which sits on the adapters, which sit
 * on the domain. An import that runs back up fails `npm run lint`.
 */
// Regular expressions, not gitignore globs: in a glob, `#` would start a comment.
const upward = (message, regex) => ({ regex, message });
const NOT_INFRA = upward(
  'shared/ never imports infra/: the CDK stack and the local service import shared/, not the other way round.',
  '^#infra/|(^|/)infra/',
);
const NOT_FUNCTIONS = upward('shared/ never imports the handlers in functions/.', '^#functions/|(^|/)functions/');
const NOT_RUNTIME = upward(
  'Only handlers and infra/ import the runtime glue (shared/runtime/: HTTP, logging, metrics, config, wiring).',
  '^#shared/runtime/|(^|/)runtime/',
);
const restrict = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });
const SOCKETS =
  'The domain opens no sockets and resolves no names: HTTP is the PostWebhook port (shared/adapters/http-client.ts), DNS shared/adapters/dns.ts.';

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', '.data/', 'coverage/', 'console/dist/', 'screenshots/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      'no-console': 'off',
    },
  },
  {
    // The domain, every folder of it: no AWS SDK, no Lambda runtime, no sockets, no adapters; it talks to the world through shared/domain/ports.ts.
    files: ['shared/domain/**/*.ts'],
    rules: restrict(
      NOT_INFRA,
      NOT_FUNCTIONS,
      NOT_RUNTIME,
      upward(
        'The domain does not import adapters: declare a port in shared/domain/ports.ts.',
        '^#shared/adapters/|(^|/)adapters/',
      ),
      upward(
        'The domain does not import the AWS SDK or the Lambda runtime: declare a port in shared/domain/ports.ts.',
        '^(@aws-sdk/|@aws/|@middy/|@aws-lambda-powertools/|aws-lambda$)',
      ),
      upward(SOCKETS, '^(node:)?(http|https|http2|tls|dgram|dns|dns/promises)$'),
      // node:net only for its address checks (isIP): nothing that connects.
      { regex: '^(node:)?net$', allowImportNames: ['isIP', 'isIPv4', 'isIPv6'], message: SOCKETS },
    ),
  },
  {
    // shared/ holds three layers and nothing else: a module at its top would escape the rules above.
    files: ['shared/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'Program',
          message: 'shared/ holds domain/, adapters/ and runtime/: put this module in one of them.',
        },
      ],
    },
  },
  {
    // Adapters implement the domain's ports with the AWS SDK (or files, locally).
    files: ['shared/adapters/**/*.ts'],
    rules: restrict(NOT_INFRA, NOT_FUNCTIONS, NOT_RUNTIME),
  },
  {
    files: ['shared/runtime/**/*.ts'],
    rules: restrict(NOT_INFRA, NOT_FUNCTIONS),
  },
  {
    // Handlers run the same on Lambda and locally: they never reach into the CDK app or the local service.
    files: ['functions/**/*.ts'],
    rules: restrict(NOT_INFRA),
  },
  {
    // The console's components follow the Rules of Hooks (and the React Compiler's rules, which hold for Preact too).
    files: ['console/**/*.tsx'],
    plugins: reactHooks.configs.flat.recommended.plugins,
    rules: {
      ...reactHooks.configs.flat.recommended.rules,
      // A warning would pass `npm run lint` unnoticed.
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  {
    // The console runs in a browser. It takes the API's types from the server's zod schemas, as types only (the build
    // erases them); its tsconfig loads Node's types for those schemas' own imports, so Node's globals are refused here.
    files: ['console/src/**/*.{ts,tsx}'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(#shared/|#functions/|#infra/|zod$)|(^|/)(shared|functions|infra)/',
              allowTypeImports: true,
              message:
                'The console takes only types from the server and zod (`import type`): their code is not bundled.',
            },
            { regex: '^node:', message: 'The console runs in a browser: no Node module.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'Buffer', 'process', 'global', 'require', '__dirname', '__filename'],
    },
  },
);
