import yaml from "js-yaml";
import { CHART_DIR, runTool, TOOLS_BIN, type ToolResult } from "./repo.js";

export interface KubeDoc {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly [field: string]: unknown;
}

/** The values files of charts/rds-csi/ci/ that every render starts from: the least a real install sets. */
export const REQUIRED_VALUES = `${CHART_DIR}/ci/required-values.yaml`;
export const valuesFile = (name: string): string => `${CHART_DIR}/ci/${name}-values.yaml`;

export function helm(args: readonly string[]): Promise<ToolResult> {
  return runTool(`${TOOLS_BIN}/helm`, args);
}

function valueArgs(files: readonly string[], set: readonly string[]): string[] {
  return [...files.flatMap((file) => ["-f", file]), ...set.flatMap((pair) => ["--set", pair])];
}

/** `helm template` of the chart into release "rds" in namespace "rds-csi"; throws with helm's message on failure. */
export async function renderChart(files: readonly string[] = [REQUIRED_VALUES], set: readonly string[] = []): Promise<KubeDoc[]> {
  const result = await helm(["template", "rds", CHART_DIR, "--namespace", "rds-csi", ...valueArgs(files, set)]);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return yaml.loadAll(result.stdout).filter((doc): doc is KubeDoc => doc !== null && typeof doc === "object");
}

/** `helm template`'s error for values it must refuse (schema or the chart's own checks). */
export async function renderError(files: readonly string[], set: readonly string[] = []): Promise<string> {
  const result = await helm(["template", "rds", CHART_DIR, "--namespace", "rds-csi", ...valueArgs(files, set)]);
  if (result.code === 0) throw new Error("helm template accepted values it should refuse");
  return result.stderr;
}

export function lintChart(files: readonly string[]): Promise<ToolResult> {
  return helm(["lint", "--strict", CHART_DIR, "--namespace", "rds-csi", ...valueArgs(files, [])]);
}

export function find(docs: readonly KubeDoc[], kind: string, name: string): KubeDoc {
  const doc = docs.find((d) => d.kind === kind && d.metadata.name === name);
  if (!doc) throw new Error(`no ${kind} ${name} in the render (have ${docs.map((d) => `${d.kind}/${d.metadata.name}`).join(", ")})`);
  return doc;
}
