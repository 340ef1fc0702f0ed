// Runs every compiled benchmark (`*.bench.js` under packages/*/dist) one after another and prints
// each one's report. Benchmarks hold the speed and memory targets; tests never time anything.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const only = process.argv[2];

async function* benchFiles(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== "node_modules") yield* benchFiles(path);
    else if (entry.name.endsWith(".bench.js")) yield path;
  }
}

let failed = false;
for (const pkg of await readdir(join(root, "packages"))) {
  for await (const file of benchFiles(join(root, "packages", pkg, "dist"))) {
    if (only && !file.includes(only)) continue;
    console.log(`\n## ${file.slice(root.length)}`);
    const { run } = await import(pathToFileURL(file).href);
    const report = await run();
    for (const line of report.lines) console.log(line);
    for (const miss of report.missedTargets ?? []) {
      console.log(`TARGET MISSED: ${miss}`);
      failed = true;
    }
  }
}
process.exitCode = failed ? 1 : 0;
