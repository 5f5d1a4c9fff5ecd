// Function size, measured on the TypeScript syntax tree: no function or method in shared/, functions/, infra/ or bin/
// is longer than 80 lines, and no console component longer than 120, so each reads on one screen.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

interface Measured {
  where: string;
  lines: number;
}

function sourceFiles(dir: string, extension: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && extension.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

const isFunction = (node: ts.Node): node is ts.FunctionLikeDeclaration =>
  ts.isFunctionDeclaration(node) ||
  ts.isMethodDeclaration(node) ||
  ts.isConstructorDeclaration(node) ||
  ts.isGetAccessorDeclaration(node) ||
  ts.isSetAccessorDeclaration(node) ||
  ts.isArrowFunction(node) ||
  ts.isFunctionExpression(node);

/** Every function in the file with its length in lines, from its first token to its closing brace. */
export function measure(path: string, text = readFileSync(path, 'utf8')): Measured[] {
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const found: Measured[] = [];
  const visit = (node: ts.Node) => {
    if (isFunction(node) && node.body) {
      const first = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
      const last = file.getLineAndCharacterOfPosition(node.getEnd()).line;
      found.push({ where: `${path}:${first + 1}`, lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

const longerThan = (limit: number, files: string[]) =>
  files
    .flatMap((path) => measure(path))
    .filter((f) => f.lines > limit)
    .map((f) => `${f.where} (${f.lines} lines)`);

describe('function length', () => {
  it('counts a function from its first line to its last', () => {
    const text = 'export function f() {\n  const g = () => {\n    return 1;\n  };\n  return g();\n}\n';
    expect(measure('x.ts', text).map((f) => f.lines)).toEqual([6, 3]);
  });

  it('keeps every function in shared/, functions/, infra/ and bin/ within 80 lines', () => {
    const files = ['shared', 'functions', 'infra', 'bin'].flatMap((dir) => sourceFiles(dir, /\.ts$/));
    expect(files.length).toBeGreaterThan(50);
    expect(longerThan(80, files)).toEqual([]);
  });

  it('keeps every console component within 120 lines', () => {
    const files = sourceFiles('console/src', /\.tsx?$/);
    expect(files.length).toBeGreaterThan(3);
    expect(longerThan(120, files)).toEqual([]);
  });
});
