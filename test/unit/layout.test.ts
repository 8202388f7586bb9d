/**
 * docs/ARCHITECTURE.md "Layout" is the map of src/: every file has its row (under its folder's bold
 * row), and every row names a file that exists.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { expect, it } from "vitest";

const ROOT = new URL("../..", import.meta.url).pathname;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [relative(ROOT, path)];
  });
}

/** The files the layout table names: each backticked name in a row's first cell, under its folder. */
function listedFiles(): string[] {
  const listed: string[] = [];
  let folder: string | undefined;
  for (const line of readFileSync(join(ROOT, "docs/ARCHITECTURE.md"), "utf8").split("\n")) {
    if (!line.startsWith("|")) continue;
    const cell = line.split("|")[1]?.trim() ?? "";
    const bold = cell.match(/^\*\*(src\/[^*]+)\*\*$/);
    if (bold) folder = bold[1];
    else if (cell.startsWith("**")) folder = undefined;
    else if (folder) for (const [, name] of cell.matchAll(/`([^`]+)`/g)) listed.push(`${folder}/${name}`);
  }
  return listed;
}

it("docs/ARCHITECTURE.md's layout table lists every file under src/, and only those", () => {
  expect(listedFiles().sort()).toEqual(filesUnder(join(ROOT, "src")).sort());
});
