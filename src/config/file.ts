/**
 * Reading a YAML configuration file into raw key → text entries, each with its line, for messages.
 *
 * The file is parsed with YAML's failsafe schema: every scalar stays the text that was written, so
 * `name: 1.0` is the name "1.0" and `port: 8443` is "8443" — exactly what one would type after the flag —
 * and the option's own commander parser decides what it means. A plain empty value, `~` or `null`
 * means "not set" (as if the line were absent).
 */
import { readFileSync } from "node:fs";
import { isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { ConfigError } from "./errors.ts";

/** A value as written: not set, one value, or a list of values. */
export type RawValue = null | string | string[];

export interface FileEntry {
  readonly key: string;
  readonly value: RawValue;
  readonly line: number;
  /** Why the value cannot be used (a mapping, a list of lists), reported once the key is known to exist. */
  readonly problem?: string;
}

export interface ConfigFile {
  readonly path: string;
  readonly entries: readonly FileEntry[];
}

/** Where a file entry came from, for messages and `config print`: `config file F, line N`. */
export function fileLocation(path: string, line?: number): string {
  return line === undefined ? `config file ${path}` : `config file ${path}, line ${line}`;
}

export function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (error as Error).message;
    throw new ConfigError(`${fileLocation(path)}: cannot read it: ${reason}`);
  }
  return parseConfigText(text, path);
}

export function parseConfigText(text: string, path: string): ConfigFile {
  const lines = new LineCounter();
  const document = parseDocument(text, { schema: "failsafe", lineCounter: lines, uniqueKeys: true });
  const [error] = document.errors;
  if (error) {
    const [at] = error.linePos ?? [];
    const reason = error.message.split(" at line ")[0];
    const where = at ? `${fileLocation(path, at.line)}, column ${at.col}` : fileLocation(path);
    const excerpt = at ? `\n\n  ${text.split("\n")[at.line - 1] ?? ""}\n  ${" ".repeat(at.col - 1)}^` : "";
    throw new ConfigError(`${where}: ${reason} (not valid YAML)${excerpt}`);
  }
  const lineOf = (node: Node | null | undefined) =>
    node?.range ? lines.linePos(node.range[0]).line : undefined;
  const root = document.contents;
  if (root === null || (isScalar(root) && isUnset(root.value, root.type))) return { path, entries: [] };
  if (!isMap(root)) {
    throw new ConfigError(
      `${fileLocation(path, lineOf(root))}: expected keys and values (\`port: 8443\`), not ${describe(root)}`,
    );
  }
  const entries: FileEntry[] = [];
  for (const pair of root.items) {
    const keyNode = pair.key as Node | null;
    const line = lineOf(keyNode) ?? 1;
    if (!isScalar(keyNode) || typeof keyNode.value !== "string") {
      throw new ConfigError(`${fileLocation(path, line)}: a key must be a plain name such as \`port\``);
    }
    try {
      entries.push({ key: keyNode.value, line, value: rawValue(pair.value as Node | null, document) });
    } catch (error) {
      if (!(error instanceof ShapeError)) throw error;
      entries.push({ key: keyNode.value, line, value: null, problem: error.message });
    }
  }
  return { path, entries };
}

class ShapeError extends Error {}

function rawValue(node: Node | null, document: ReturnType<typeof parseDocument>): RawValue {
  const resolved = isAlias(node) ? (node.resolve(document) as Node | undefined) : node;
  if (resolved === null || resolved === undefined) return null;
  if (isScalar(resolved)) {
    const value = String(resolved.value);
    return isUnset(value, resolved.type) ? null : value;
  }
  if (isSeq(resolved)) {
    return resolved.items.map((item) => {
      const element = isAlias(item) ? item.resolve(document) : item;
      if (!isScalar(element)) {
        throw new ShapeError(`a list of values cannot hold ${describe(element)}`);
      }
      return String(element.value);
    });
  }
  throw new ShapeError(`expected a value or a list, not ${describe(resolved)}`);
}

function isUnset(value: unknown, type: string | undefined): boolean {
  const plain = type === undefined || type === "PLAIN";
  return (
    value === null || (plain && (value === "" || value === "~" || /^(null|Null|NULL)$/.test(String(value))))
  );
}

function describe(node: unknown): string {
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  return "a single value";
}
