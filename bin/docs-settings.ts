#!/usr/bin/env node
/**
 * `npm run docs:settings`: rewrites the settings tables of docs/configuration.md, between its
 * marker comments, from the settings table (shared/runtime/settings.ts).
 * test/unit/settings-docs.test.ts fails while the two disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { formatSetting, settingDeclarations, type SettingDeclaration } from '#shared/runtime/settings.ts';

export const CONFIGURATION_DOC = new URL('../docs/configuration.md', import.meta.url);
const START = '<!-- settings:start: generated from shared/runtime/settings.ts by `npm run docs:settings` -->';
const END = '<!-- settings:end -->';

const code = (text: string) => `\`${text}\``;
const cell = (text: string) => text.replaceAll('|', '\\|');
const shown = (value: unknown) => (Array.isArray(value) && value.length === 0 ? 'empty' : code(formatSetting(value)));

function shownDefault(setting: SettingDeclaration): string {
  if (setting.shownDefault) return setting.shownDefault;
  if (setting.default === undefined) return 'none';
  if (setting.localDefault === undefined) return shown(setting.default);
  return `${shown(setting.default)} on AWS; ${shown(setting.localDefault)} with ${code('npm start')}`;
}

/** A name and the earlier one still read, if any. */
const named = (name: string | undefined, former: string | undefined) =>
  name === undefined ? '—' : former ? `${code(name)} (earlier ${code(former)}, still read)` : code(name);

function table(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((row) => `| ${row.map(cell).join(' | ')} |`).join('\n');
}

/** The generated section: a table per scope. */
export function settingsTables(): string {
  const inScope = (scope: SettingDeclaration['scope']) =>
    settingDeclarations()
      .map(([, setting]) => setting)
      .filter((setting) => setting.scope === scope);
  return [
    '### Delivery settings: on AWS and with `npm start`',
    '',
    table(
      ['variable', 'context key', 'default', 'meaning'],
      inScope('delivery').map((s) => [
        named(s.env, s.formerEnv),
        named(s.context, s.formerContext),
        shownDefault(s),
        s.doc,
      ]),
    ),
    '',
    '### `npm start` and the CLI only',
    '',
    table(
      ['variable', 'default', 'meaning'],
      inScope('local').map((s) => [named(s.env, s.formerEnv), shownDefault(s), s.doc]),
    ),
    '',
    '### AWS only: CDK context',
    '',
    table(
      ['context key', 'default', 'meaning'],
      inScope('aws').map((s) => [named(s.context, s.formerContext), shownDefault(s), s.doc]),
    ),
  ].join('\n');
}

/** The page with its section between the markers replaced by the tables. */
export function withSettingsTables(markdown: string): string {
  const start = markdown.indexOf(START);
  const end = markdown.indexOf(END);
  if (start === -1 || end < start) throw new Error(`docs/configuration.md lacks the markers ${START} and ${END}`);
  return `${markdown.slice(0, start + START.length)}\n\n${settingsTables()}\n\n${markdown.slice(end)}`;
}

if (import.meta.main) {
  const before = readFileSync(CONFIGURATION_DOC, 'utf8');
  const after = withSettingsTables(before);
  writeFileSync(CONFIGURATION_DOC, after);
  console.log(after === before ? 'docs/configuration.md is up to date' : 'docs/configuration.md rewritten');
}
