// `pnpm build` with progress: generates the CSI TypeScript from the proto, prunes stale outputs
// (scripts/prune-stale-outputs.js), then runs `tsc --build --verbose` and turns its chatter into one
// line per project ("[3/9] packages/core compiled in 11.3 s"), so a first build (about a minute on 2
// cores) never sits silent. Compiler errors are passed through as they are; the exit code is tsc's.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const started = performance.now();
const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

function run(command, args, onLine) {
  const child = spawn(command, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  createInterface({ input: child.stdout }).on("line", onLine);
  createInterface({ input: child.stderr }).on("line", onLine);
  return new Promise((resolve) => child.on("close", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

console.log("build: generating the CSI types from proto/csi/v1/csi.proto");
const generated = await run("pnpm", ["--silent", "run", "generate"], (line) => line.trim() && console.log(`  ${line}`));
if (generated !== 0) process.exit(generated);
const pruned = await run(process.execPath, [fileURLToPath(new URL("prune-stale-outputs.js", import.meta.url))], (line) => line.trim() && console.log(`  ${line}`));
if (pruned !== 0) process.exit(pruned);

const projects = [];
let listing = false;
let current;
let done = 0;
const finish = () => {
  if (current === undefined) return;
  console.log(`  [${++done}/${projects.length}] ${current.name} compiled in ${seconds(current.since)}`);
  current = undefined;
};
const code = await run(process.execPath, [fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url)), "--build", "--verbose"], (raw) => {
  // tsc --verbose prefixes its own messages with a time stamp ("11:41:49 AM - ").
  const line = raw.replace(/^\d{1,2}:\d{2}:\d{2}( [AP]M)? - /, "");
  if (line.startsWith("Projects in this build:")) {
    listing = true;
    return;
  }
  if (listing) {
    const project = /^\s+\* (.+)$/.exec(line)?.[1];
    if (project !== undefined) {
      if (project !== "tsconfig.json") projects.push(project);
      return;
    }
    listing = false;
    console.log(`build: compiling ${projects.length} TypeScript projects (tsc --build)`);
  }
  const building = /^Building project '(.+)'\.\.\.$/.exec(line)?.[1];
  if (building !== undefined) {
    finish();
    current = { name: building.replace(`${root}`, "").replace(/\/tsconfig\.json$/, "").replace(/^\//, ""), since: performance.now() };
    console.log(`  … ${current.name}`);
    return;
  }
  const upToDate = /^Project '(.+)' is up to date/.exec(line)?.[1];
  if (upToDate !== undefined) {
    finish();
    console.log(`  [${++done}/${projects.length}] ${upToDate.replace(/\/tsconfig\.json$/, "")} up to date`);
    return;
  }
  if (/^Project '.+' is out of date/.test(line) || /^Updating /.test(line) || line.trim() === "") return;
  console.log(line);
});
finish();
console.log(code === 0 ? `build: done in ${seconds(started)}` : `build: failed (tsc exit ${code}) after ${seconds(started)}`);
process.exit(code);
