import type { BenchOutcome } from "./bench-results.js";

const ROW = 28;
const LEFT = 330;
const WIDTH = 960;
const PLOT = WIDTH - LEFT - 30;

/**
 * Latency distributions as horizontal box plots on a log-scaled millisecond axis: box p25–p75, a bar
 * at the median, whiskers to p1 and p99, a dot at the maximum. Log scale because the operations range
 * from a gRPC Probe (≈1 ms) to a create at 100 in flight (seconds).
 */
export function renderSvg(outcomes: readonly BenchOutcome[]): string {
  const rows = outcomes.flatMap((outcome) => outcome.distributions.filter((d) => d.samplesMs.length > 0).map((d) => ({ label: d.label, sorted: [...d.samplesMs].sort((a, b) => a - b) })));
  const height = 60 + rows.length * ROW + 40;
  const all = rows.flatMap((row) => [row.sorted[0]!, row.sorted[row.sorted.length - 1]!]);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.max(0.01, Math.min(...all, 1)))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...all, 10))));
  const x = (ms: number): number => LEFT + (PLOT * (Math.log10(Math.max(ms, lo)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
  const q = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${LEFT}" y="24" font-size="14" font-weight="bold">Latency distributions (ms, log scale): box p25–p75, bar p50, whiskers p1–p99, dot max</text>`,
  ];
  for (let decade = lo; decade <= hi; decade *= 10) {
    const at = x(decade).toFixed(1);
    parts.push(`<line x1="${at}" y1="40" x2="${at}" y2="${height - 30}" stroke="#ddd"/>`, `<text x="${at}" y="${height - 12}" text-anchor="middle">${decade >= 1 ? decade.toFixed(0) : decade}</text>`);
  }
  rows.forEach((row, i) => {
    const y = 50 + i * ROW;
    const mid = y + ROW / 2;
    const [p1, p25, p50, p75, p99, max] = [0.01, 0.25, 0.5, 0.75, 0.99, 1].map((p) => x(q(row.sorted, p)));
    parts.push(
      `<text x="${LEFT - 8}" y="${mid + 4}" text-anchor="end">${escapeXml(row.label)} (n=${row.sorted.length})</text>`,
      `<line x1="${p1!.toFixed(1)}" y1="${mid}" x2="${p99!.toFixed(1)}" y2="${mid}" stroke="#555"/>`,
      `<rect x="${p25!.toFixed(1)}" y="${y + 6}" width="${Math.max(1, p75! - p25!).toFixed(1)}" height="${ROW - 12}" fill="#8ab4e8" stroke="#2a5d9f"/>`,
      `<line x1="${p50!.toFixed(1)}" y1="${y + 4}" x2="${p50!.toFixed(1)}" y2="${y + ROW - 4}" stroke="#b00" stroke-width="2"/>`,
      `<circle cx="${max!.toFixed(1)}" cy="${mid}" r="3" fill="#333"/>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);
}
