// Every relative link in the documents (README.md, UPGRADING.md, BENCHMARKS.md, docs/*.md) reaches a file that
// exists, and every #anchor a heading of its target, by GitHub's rules for heading anchors.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Reads a file of the repository (undefined when it does not exist), and says whether a path exists at all. */
interface Files {
  read(path: string): string | undefined;
  exists(path: string): boolean;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;

/** The document's lines, with those of fenced code blocks blanked: a `#` or a bracket there is code. */
function outsideFences(markdown: string): string[] {
  const lines: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const marker = FENCE.exec(line)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      lines.push('');
    } else if (marker) {
      fence = marker;
      lines.push('');
    } else {
      lines.push(line);
    }
  }
  return lines;
}

/**
 * GitHub's anchor for a heading: the heading's text, lowercased, with every character other than a letter, a
 * digit, a space, '-' or '_' removed, and each space turned into '-'. A repeated anchor gets '-1', '-2'…
 * Hand-written because no Markdown library is installed, and the rule is these few lines (github-slugger's).
 */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const line of outsideFences(markdown)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const text = heading
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .replace(/[*`]/g, '');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    found.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return found;
}

/** Targets of inline links and images, `[text](target)`, and of reference definitions, `[name]: target`. */
function linkTargets(markdown: string): string[] {
  // Inside a code span, brackets are code too.
  const text = outsideFences(markdown)
    .map((line) => line.replace(/(`+)[^`]*?\1/g, ''))
    .join('\n');
  const inline = [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const references = [...text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!);
  return [...inline, ...references];
}

/** What is wrong with each relative link of `path`, as "target: why"; empty when every link holds. */
function brokenLinks(path: string, files: Files): string[] {
  const markdown = files.read(path);
  if (markdown === undefined) return [`${path}: no such file`];
  const problems: string[] = [];
  for (const target of linkTargets(markdown)) {
    // Another site (https:, mailto:…) is not checked here.
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue;
    const [file = '', anchor] = target.split('#', 2) as [string, string | undefined];
    const resolved = file === '' ? path : normalize(join(dirname(path), decodeURI(file)));
    if (!files.exists(resolved)) {
      problems.push(`${target}: ${resolved} does not exist`);
      continue;
    }
    if (anchor === undefined || !resolved.endsWith('.md')) continue;
    if (!anchors(files.read(resolved) ?? '').has(decodeURIComponent(anchor).toLowerCase()))
      problems.push(`${target}: no heading in ${resolved} has the anchor #${anchor}`);
  }
  return problems;
}

const repository: Files = {
  read: (path) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined),
  exists: existsSync,
};

const documents = [
  'README.md',
  'UPGRADING.md',
  'BENCHMARKS.md',
  ...readdirSync('docs')
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name)),
];

describe('links in the documents', () => {
  it.each(documents)('%s: every relative link reaches its file and its heading', (path) => {
    expect(brokenLinks(path, repository)).toEqual([]);
  });

  it('covers the README, the upgrade guide, the benchmarks and every page in docs/', () => {
    expect(documents).toEqual(expect.arrayContaining(['README.md', 'UPGRADING.md', 'BENCHMARKS.md', 'docs/api.md']));
  });
});

describe('the link checker', () => {
  const sample = (docs: Record<string, string>, others: string[] = []): Files => ({
    read: (path) => docs[path],
    exists: (path) => path in docs || others.includes(path),
  });

  it('finds a link to a file that does not exist, and one to a heading that does not', () => {
    const files = sample({
      'README.md': [
        '# Title',
        'See [the guide](docs/guide.md), [its setup](docs/guide.md#set-up), [a typo](docs/guid.md),',
        '[a missing part](docs/guide.md#tear-down), [here](#title), [nowhere](#nowhere) and ![a shot](docs/shot.png).',
      ].join('\n'),
      'docs/guide.md': '# Guide\n\n## Set up\n\nBack to the [README](../README.md#title).',
    });
    expect(brokenLinks('README.md', files)).toEqual([
      'docs/guid.md: docs/guid.md does not exist',
      'docs/guide.md#tear-down: no heading in docs/guide.md has the anchor #tear-down',
      '#nowhere: no heading in README.md has the anchor #nowhere',
      'docs/shot.png: docs/shot.png does not exist',
    ]);
    expect(brokenLinks('docs/guide.md', files)).toEqual([]);
  });

  it("makes anchors by GitHub's rules: lowercase, punctuation dropped, spaces to '-', repeats numbered", () => {
    const headings = [
      '## Soak: delivery under crashes (`npm run soak`)',
      '## Disabling endpoints and custom headers (beyond Lago)',
      '### Poison messages (DeadLetterArrivals)',
      '## The console’s routes on API Gateway',
      '## dead_letters and [links](x.md)',
      '## Retries',
      '## Retries',
    ].join('\n\n');
    expect([...anchors(headings)]).toEqual([
      'soak-delivery-under-crashes-npm-run-soak',
      'disabling-endpoints-and-custom-headers-beyond-lago',
      'poison-messages-deadletterarrivals',
      'the-consoles-routes-on-api-gateway',
      'dead_letters-and-links',
      'retries',
      'retries-1',
    ]);
  });

  it('ignores code: headings and links inside fenced blocks or code spans, and other sites', () => {
    const files = sample({
      'a.md': [
        '# A',
        '```bash',
        '# 1. not a heading',
        'echo "[x](missing.md)"',
        '```',
        'Run `[y](missing.md)`, read [the spec](https://example.com/spec.md#whatever).',
        '[ref]: missing-too.md',
      ].join('\n'),
    });
    expect([...anchors(files.read('a.md') ?? '')]).toEqual(['a']);
    expect(brokenLinks('a.md', files)).toEqual(['missing-too.md: missing-too.md does not exist']);
  });
});
