// Runs every compiled benchmark (`*.bench.js` under packages/*/dist and dist-test) one after another,
// prints each one's report, and writes bench/results/<date>.json, a Markdown report (<date>.md) with
// every figure, its target and its ratio to the bound, and an SVG chart of the latency distributions
// (<date>.svg). Exits 1 when a figure's median misses its target or a benchmark fails. Benchmarks hold
// the speed and memory targets; tests never time anything.
//   node scripts/bench.js [name-filter] [--out DIR]
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { benchOutcome, failedOutcome, failures, formatValue, renderMarkdown, renderSvg } from "../packages/testkit/dist/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
const outDir = outIndex >= 0 ? args.splice(outIndex, 2)[1] : join(root, "bench/results");
const only = args[0];

async function* benchFiles(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== "node_modules") yield* benchFiles(path);
    else if (entry.name.endsWith(".bench.js")) yield path;
  }
}

const machine = { cpus: cpus().length, loadAverage: loadavg(), node: process.version };
const outcomes = [];
for (const pkg of await readdir(join(root, "packages"))) {
  for (const build of ["dist", "dist-test"]) {
    for await (const file of benchFiles(join(root, "packages", pkg, build))) {
      if (only && !file.includes(only)) continue;
      const bench = relative(root, file);
      console.log(`\n## ${bench}`);
      const started = performance.now();
      let outcome;
      try {
        const { run } = await import(pathToFileURL(file).href);
        outcome = benchOutcome(bench, (performance.now() - started) / 1000, await run());
      } catch (err) {
        outcome = failedOutcome(bench, (performance.now() - started) / 1000, err);
        console.log(outcome.error);
      }
      outcomes.push(outcome);
      for (const line of outcome.lines) console.log(line);
      for (const figure of outcome.figures) {
        const verdict = figure.target === undefined ? "" : `; target ${figure.target.description}, ratio ${figure.target.ratio.toFixed(3)} ${figure.target.met ? "met" : "MISSED"}`;
        console.log(`= ${figure.label}: median ${formatValue(figure.median, figure.unit)} (${formatValue(figure.min, figure.unit)} – ${formatValue(figure.max, figure.unit)}, ${figure.rounds.length} rounds)${verdict}`);
      }
    }
  }
}

const missed = failures(outcomes);
const date = new Date().toISOString().slice(0, 10);
const results = { date, machine, outcomes, passed: missed.length === 0 };
await mkdir(outDir, { recursive: true });
await writeFile(join(outDir, `${date}.json`), `${JSON.stringify(results, null, 2)}\n`);
await writeFile(join(outDir, `${date}.md`), renderMarkdown(results, `${date}.svg`));
await writeFile(join(outDir, `${date}.svg`), renderSvg(outcomes));
console.log(`\nreport: ${relative(root, join(outDir, `${date}.md`))} (+ .json, .svg)`);
for (const miss of missed) console.log(`TARGET MISSED: ${miss}`);
console.log(missed.length === 0 ? "every target met" : `${missed.length} target(s) missed`);
process.exitCode = missed.length === 0 ? 0 : 1;
