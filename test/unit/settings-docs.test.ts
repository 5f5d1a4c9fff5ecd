// Covers docs/configuration.md: its settings tables are the ones `npm run docs:settings` generates from the settings table.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIGURATION_DOC, settingsTables, withSettingsTables } from '../../bin/docs-settings.ts';
import { settingDeclarations } from '#shared/runtime/settings.ts';

describe('docs/configuration.md', () => {
  it('holds the tables generated from shared/runtime/settings.ts (run `npm run docs:settings` when this fails)', () => {
    const page = readFileSync(CONFIGURATION_DOC, 'utf8');
    expect(page).toBe(withSettingsTables(page));
  });

  it('lists every variable and every context key, with its line of documentation', () => {
    const tables = settingsTables();
    for (const [, setting] of settingDeclarations()) {
      for (const name of [setting.env, setting.formerEnv, setting.context, setting.formerContext])
        if (name !== undefined) expect(tables).toContain(`\`${name}\``);
      expect(tables).toContain(setting.doc);
    }
  });

  it('refuses a page without the markers it rewrites between', () => {
    expect(() => withSettingsTables('# Configuration\n')).toThrow('markers');
  });
});
