import { benchOutcome, failedOutcome, failures, type BenchResults } from "./bench-results.js";
import { renderMarkdown } from "./report-markdown.js";
import { renderSvg } from "./report-svg.js";

const met = benchOutcome("a.bench.js", 3, {
  lines: ["detail"],
  figures: [{ id: "a.rss", label: "RSS idle", unit: "MB", rounds: [70, 71, 90], target: { bound: 80, strict: true, description: "< 80 MB" } }],
  distributions: [{ label: "Probe <sequential>", samplesMs: [1, 2, 3, 50] }],
});
const missed = benchOutcome("b.bench.js", 5, {
  lines: [],
  figures: [{ id: "b.ratio", label: "create+delete / serial bound", unit: "ratio", rounds: [1.2, 1.3, 1.05], target: { bound: 1.1, description: "<= 1.10" } }],
  missedTargets: ["3 disks left behind"],
});

function results(outcomes = [met, missed]): BenchResults {
  return { date: "2026-12-07", machine: { cpus: 2, loadAverage: [1, 1, 1], node: "v20" }, outcomes, passed: failures(outcomes).length === 0 };
}

test("failures name each missed figure with its median and bound, then the reported failures", () => {
  expect(failures([met, missed])).toEqual(["create+delete / serial bound: median 1.200, target <= 1.10 (bound 1.100)", "3 disks left behind"]);
  expect(failures([met])).toEqual([]);
});

test("a benchmark that threw is a failure with its message", () => {
  expect(failures([failedOutcome("c.bench.js", 1, new Error("boom"))])).toEqual(["the benchmark failed: Error: boom"]);
});

test("the Markdown report has one row per figure with its verdict, the misses and the chart", () => {
  const text = renderMarkdown(results(), "2026-12-07.svg");
  expect(text).toContain("| RSS idle | 71.0 MB | 70.0 MB – 90.0 MB (3) | < 80 MB | 80.0 MB | 0.887 | yes |");
  expect(text).toContain("| create+delete / serial bound | 1.200 | 1.050 – 1.300 (3) | <= 1.10 | 1.100 | 1.091 | **no** |");
  expect(text).toContain("**Targets missed.**");
  expect(text).toContain("- 3 disks left behind");
  expect(text).toContain("![latency distributions](2026-12-07.svg)");
});

test("the chart draws one labelled box per distribution, escaped", () => {
  const svg = renderSvg([met, missed]);
  expect(svg.match(/<rect x=/g)).toHaveLength(1);
  expect(svg).toContain("Probe &lt;sequential&gt; (n=4)");
  expect(svg.startsWith("<svg")).toBe(true);
});
