import yaml from "js-yaml";

/**
 * charts/rds-csi/README.md from values.yaml: every key with its default and the comment above it
 * (`# -- ` starts a key's description, following `# ` lines continue it; a comment without `--` is a
 * note for readers of values.yaml and stays out). Nested mappings become dotted keys (a described
 * mapping gets a row of its own); lists and flow-style mappings are shown whole.
 */
export function renderChartReadme(chart: { name: string; description: string; version: string; appVersion: string }, valuesText: string): string {
  const values = yaml.load(valuesText) as Record<string, unknown>;
  const rows: string[] = [];
  const path: { indent: number; key: string }[] = [];
  let comment: string[] = [];
  let described = false;
  /** inside a value shown whole (a block list, say): its lines are not keys of their own */
  let wholeUntilIndent: number | undefined;
  for (const line of valuesText.split("\n")) {
    const lineIndent = /^\s*/.exec(line)![0].length;
    if (wholeUntilIndent !== undefined) {
      if (line.trim() === "" || lineIndent > wholeUntilIndent || line.trimStart().startsWith("- ")) continue;
      wholeUntilIndent = undefined;
    }
    const commentLine = /^(\s*)# ?(.*)$/.exec(line);
    if (commentLine) {
      const text = commentLine[2]!;
      if (text.startsWith("-- ")) {
        comment = [text.slice(3)];
        described = true;
      } else if (described) {
        comment.push(text);
      }
      continue;
    }
    const keyLine = /^(\s*)([A-Za-z][\w.-]*):(.*)$/.exec(line);
    if (!keyLine) continue;
    const indent = keyLine[1]!.length;
    while (path.length > 0 && path.at(-1)!.indent >= indent) path.pop();
    path.push({ indent, key: keyLine[2]! });
    const keys = path.map((p) => p.key);
    const value = keys.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], values);
    const nested = keyLine[3]!.trim() === "" && value !== null && typeof value === "object" && !Array.isArray(value);
    if (nested && comment.length > 0) rows.push(`| \`${keys.join(".")}\` | | ${comment.join(" ").replaceAll("|", "\\|")} |`);
    if (!nested) {
      rows.push(`| \`${keys.join(".")}\` | ${defaultCell(value)} | ${comment.join(" ").replaceAll("|", "\\|")} |`);
      if (keyLine[3]!.trim() === "") wholeUntilIndent = indent;
    }
    comment = [];
    described = false;
  }
  return [
    `# ${chart.name}`,
    "",
    `${chart.description}. Chart ${chart.version}, app ${chart.appVersion}.`,
    "",
    "<!-- Generated from values.yaml by `pnpm --filter @rds-csi/deploy generate`; a test fails when it is out of date. -->",
    "",
    "Install and operate it with [the operator's guide](../../docs/install.md). Every value, its default and what it does:",
    "",
    "| key | default | description |",
    "| --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
}

function defaultCell(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === '""') return '`""`';
  return text.length > 100 ? "see values.yaml" : `\`${text.replaceAll("|", "\\|")}\``;
}
