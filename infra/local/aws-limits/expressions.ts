import type { WireItem, WireValue } from './units.ts';

/**
 * Just enough of DynamoDB's expression grammar to know, before a request is served, which
 * partition a Query reads and which attributes an UpdateExpression changes: index keys decide
 * which index partitions a write reaches. Hand-written: no maintained parser of DynamoDB's
 * expressions exists on npm.
 */

export type Names = Record<string, string> | undefined;
export type Values = WireItem | undefined;

const OPERAND = String.raw`#?[A-Za-z0-9_]+|:[A-Za-z0-9_]+`;
/** `a = b` where `=` is not part of `<=`, `>=` or `<>`. */
const EQUALITY = new RegExp(String.raw`(${OPERAND})\s*(?<![<>])=\s*(${OPERAND})`, 'g');

const nameOf = (token: string, names: Names) => (token.startsWith('#') ? names?.[token] : token);

/** The value a key condition requires of `attribute` (`attribute = :value`, either way round). */
export function equalityValue(
  expression: string,
  attribute: string,
  names: Names,
  values: Values,
): WireValue | undefined {
  for (const [, left = '', right = ''] of expression.matchAll(EQUALITY)) {
    if (right.startsWith(':') && nameOf(left, names) === attribute) return values?.[right];
    if (left.startsWith(':') && nameOf(right, names) === attribute) return values?.[left];
  }
  return undefined;
}

/** What an update does to a top-level attribute that it sets. */
type Assignment =
  { kind: 'value'; value: WireValue } | { kind: 'if_not_exists'; value: WireValue } | { kind: 'computed' };

export interface UpdateEffects {
  /** Top-level attributes the update sets, with the value when the expression names it. */
  set: Map<string, Assignment>;
  removed: Set<string>;
  /** Every top-level attribute the update changes in any way (nested paths count as their top-level attribute). */
  touched: Set<string>;
}

/** Splits at `separator` outside parentheses and brackets. */
function splitTopLevel(text: string, separator: RegExp): { part: string; at: number }[] {
  const parts: { part: string; at: number }[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char === '(' || char === '[') depth++;
    else if (char === ')' || char === ']') depth--;
    else if (depth === 0 && separator.test(char)) {
      parts.push({ part: text.slice(start, i), at: start });
      start = i + 1;
    }
  }
  parts.push({ part: text.slice(start), at: start });
  return parts;
}

/** The clauses of an update expression by keyword; the keywords are reserved words, so never bare attribute names. */
function clauses(expression: string): { keyword: string; body: string }[] {
  const found = [...expression.matchAll(/(?:^|\s)(SET|REMOVE|ADD|DELETE)(?=\s)/gi)];
  return found.map((match, i) => ({
    keyword: match[1]!.toUpperCase(),
    body: expression.slice(match.index + match[0].length, found[i + 1]?.index ?? expression.length),
  }));
}

/** The top-level attribute a document path starts with, and whether the path goes deeper. */
function topLevel(path: string, names: Names): { name: string | undefined; nested: boolean } {
  const trimmed = path.trim();
  const head = /^#?[A-Za-z0-9_]+/.exec(trimmed)?.[0] ?? '';
  return { name: nameOf(head, names), nested: trimmed.length > head.length };
}

function assignment(name: string, value: string, names: Names, values: Values): Assignment {
  const plain = /^\s*(:[A-Za-z0-9_]+)\s*$/.exec(value);
  if (plain) {
    const named = values?.[plain[1]!];
    return named ? { kind: 'value', value: named } : { kind: 'computed' };
  }
  const fallback = /^\s*if_not_exists\s*\(\s*(#?[A-Za-z0-9_]+)\s*,\s*(:[A-Za-z0-9_]+)\s*\)\s*$/i.exec(value);
  const named = fallback && values?.[fallback[2]!];
  if (fallback && named && nameOf(fallback[1]!, names) === name) return { kind: 'if_not_exists', value: named };
  return { kind: 'computed' };
}

export function updateEffects(expression: string, names: Names, values: Values): UpdateEffects {
  const effects: UpdateEffects = { set: new Map(), removed: new Set(), touched: new Set() };
  for (const { keyword, body } of clauses(expression)) {
    for (const { part } of splitTopLevel(body, /,/)) {
      if (part.trim() === '') continue;
      if (keyword === 'SET') {
        const [path, value] = splitTopLevel(part, /=/);
        const { name, nested } = topLevel(path?.part ?? '', names);
        if (!name) continue;
        effects.touched.add(name);
        const assigned = value ? part.slice(value.at) : '';
        effects.set.set(name, nested ? { kind: 'computed' } : assignment(name, assigned, names, values));
      } else {
        const { name, nested } = topLevel(part.trim().split(/\s+/)[0] ?? '', names);
        if (!name) continue;
        effects.touched.add(name);
        if (keyword === 'REMOVE' && !nested) effects.removed.add(name);
        else effects.set.set(name, { kind: 'computed' });
      }
    }
  }
  return effects;
}

/**
 * The item an update leaves, as far as its expression tells: plain and `if_not_exists` values
 * applied, removals applied; attributes it computes keep their old value and are listed as unknown.
 */
export function applyUpdate(
  old: WireItem | undefined,
  effects: UpdateEffects,
): { item: WireItem; unknown: Set<string> } {
  const item: WireItem = { ...old };
  const unknown = new Set<string>();
  for (const [name, change] of effects.set) {
    if (change.kind === 'value') item[name] = change.value;
    else if (change.kind === 'if_not_exists') item[name] = old?.[name] ?? change.value;
    else unknown.add(name);
  }
  for (const name of effects.removed) delete item[name];
  return { item, unknown };
}
