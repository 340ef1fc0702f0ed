import { badRequest } from "./status.js";

/** Whether an object's labels satisfy a selector. */
export type LabelPredicate = (labels: Readonly<Record<string, string>> | undefined) => boolean;

type Requirement =
  | { readonly op: "=" | "!="; readonly key: string; readonly value: string }
  | { readonly op: "in" | "notin"; readonly key: string; readonly values: readonly string[] }
  | { readonly op: "exists" | "!exists"; readonly key: string };

const key = String.raw`[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?`;
const value = String.raw`(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const equality = new RegExp(`^(${key})\\s*(==|=|!=)\\s*(${value})$`);
const set = new RegExp(`^(${key})\\s+(in|notin)\\s+\\(([^()]*)\\)$`);
const exists = new RegExp(`^(!?)\\s*(${key})$`);
const setValue = new RegExp(`^${value}$`);

/**
 * Parses a label selector as the API server accepts it: comma-separated requirements, each `k=v`,
 * `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` or `!k`. An empty selector matches everything.
 * A malformed one is a 400.
 */
export function parseLabelSelector(text: string): LabelPredicate {
  const requirements = splitTopLevel(text).map(parseRequirement);
  return (labels) => requirements.every((r) => satisfies(r, labels ?? {}));
}

function splitTopLevel(text: string): string[] {
  if (text.trim() === "") return [];
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of text) {
    if (ch === "(") depth += 1;
    if (ch === ")") depth -= 1;
    if (ch === "," && depth === 0) {
      parts.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim());
}

function parseRequirement(text: string): Requirement {
  const eq = equality.exec(text);
  if (eq !== null) return { op: eq[2] === "!=" ? "!=" : "=", key: eq[1]!, value: eq[3]! };
  const inSet = set.exec(text);
  if (inSet !== null) {
    const values = inSet[3]!.split(",").map((v) => v.trim());
    if (values.some((v) => !setValue.test(v))) throw invalidSelector(text);
    return { op: inSet[2] === "in" ? "in" : "notin", key: inSet[1]!, values };
  }
  const ex = exists.exec(text);
  if (ex !== null) return { op: ex[1] === "!" ? "!exists" : "exists", key: ex[2]! };
  throw invalidSelector(text);
}

function invalidSelector(text: string) {
  return badRequest(`unable to parse requirement: ${JSON.stringify(text)}: not a valid label selector requirement`);
}

function satisfies(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const present = Object.hasOwn(labels, r.key);
  const actual = labels[r.key];
  switch (r.op) {
    case "=":
      return present && actual === r.value;
    case "!=":
      return !present || actual !== r.value;
    case "in":
      return present && r.values.includes(actual!);
    case "notin":
      return !present || !r.values.includes(actual!);
    case "exists":
      return present;
    case "!exists":
      return !present;
  }
}
