// Deletes compiled files whose source is gone or no longer part of the project (a moved test, a renamed
// module): `tsc --build` writes outputs but never removes them, and a stale file in a service's dist/
// would ship in its image (and fail the check that dist/ holds no test code). Run by `build`, before tsc.
import { readdirSync, rmdirSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const OUTPUT_SUFFIXES = [".js", ".js.map", ".d.ts", ".d.ts.map"];

function projectsOf(configPath) {
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!parsed) throw new Error(`cannot read ${configPath}`);
  const nested = (parsed.projectReferences ?? []).flatMap((ref) => projectsOf(ts.resolveProjectReferencePath(ref)));
  return [parsed, ...nested];
}

function* filesUnder(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) yield join(entry.parentPath, entry.name);
  }
}

const seen = new Set();
for (const project of projectsOf(join(root, "tsconfig.json"))) {
  const { outDir, rootDir, tsBuildInfoFile } = project.options;
  if (!outDir || !rootDir || seen.has(outDir)) continue;
  seen.add(outDir);
  const expected = new Set([tsBuildInfoFile]);
  for (const source of project.fileNames.filter((name) => !name.endsWith(".d.ts"))) {
    const base = join(outDir, relative(rootDir, source)).replace(/\.ts$/, "");
    for (const suffix of OUTPUT_SUFFIXES) expected.add(base + suffix);
  }
  let files;
  try {
    files = [...filesUnder(outDir)];
  } catch {
    continue; // never built yet
  }
  for (const file of files) if (!expected.has(file)) rmSync(file);
  removeEmptyFolders(outDir);
}

function removeEmptyFolders(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeEmptyFolders(join(dir, entry.name));
  }
  if (readdirSync(dir).length === 0) rmdirSync(dir);
}
