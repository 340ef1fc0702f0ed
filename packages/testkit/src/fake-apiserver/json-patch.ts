import { isJsonObject, jsonEqual } from "./json-value.js";
import { badRequest, unprocessable } from "./status.js";

interface Operation {
  readonly op: "add" | "remove" | "replace" | "test";
  readonly path: readonly string[];
  readonly pointer: string;
  readonly value: unknown;
}

/**
 * RFC 6902 JSON patch with `add`, `remove`, `replace` and `test`. A malformed patch is a 400; a patch
 * that does not apply (missing path, failed test) is a 422, as the real server answers.
 */
export function applyJsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw badRequest("a JSON patch must be a list of operations");
  let doc = structuredClone(target);
  for (const op of patch.map(decodeOperation)) doc = applyOperation(doc, op);
  return doc;
}

function decodeOperation(raw: unknown): Operation {
  if (!isJsonObject(raw) || typeof raw["path"] !== "string") throw badRequest("each JSON patch operation needs an op and a path");
  const op = raw["op"];
  if (op !== "add" && op !== "remove" && op !== "replace" && op !== "test") {
    throw badRequest(`unsupported JSON patch operation ${JSON.stringify(op)}`);
  }
  if (op !== "remove" && !Object.hasOwn(raw, "value")) throw badRequest(`JSON patch ${op} at ${raw["path"]} has no value`);
  return { op, path: parsePointer(raw["path"]), pointer: raw["path"], value: raw["value"] };
}

function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw badRequest(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split("/")
    .map((segment) => segment.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function applyOperation(doc: unknown, op: Operation): unknown {
  if (op.path.length === 0) {
    if (op.op === "test") return check(doc, op);
    if (op.op === "remove") throw unprocessable("remove operation does not apply: cannot remove the whole document");
    return structuredClone(op.value);
  }
  const parent = resolve(doc, op.path.slice(0, -1), op);
  const last = op.path[op.path.length - 1]!;
  if (Array.isArray(parent)) {
    const index = last === "-" && op.op === "add" ? parent.length : arrayIndex(last, op);
    const limit = op.op === "add" ? parent.length : parent.length - 1;
    if (index > limit) throw missing(op);
    if (op.op === "add") parent.splice(index, 0, structuredClone(op.value));
    else if (op.op === "remove") parent.splice(index, 1);
    else if (op.op === "replace") parent[index] = structuredClone(op.value);
    else check(parent[index], op);
  } else {
    if (op.op !== "add" && !Object.hasOwn(parent, last)) throw missing(op);
    if (op.op === "remove") delete parent[last];
    else if (op.op === "test") check(parent[last], op);
    else parent[last] = structuredClone(op.value);
  }
  return doc;
}

function resolve(doc: unknown, path: readonly string[], op: Operation): unknown[] | Record<string, unknown> {
  let at = doc;
  for (const segment of path) {
    if (Array.isArray(at)) at = at[arrayIndex(segment, op)];
    else if (isJsonObject(at)) at = at[segment];
    else throw missing(op);
  }
  if (Array.isArray(at) || isJsonObject(at)) return at;
  throw missing(op);
}

function arrayIndex(segment: string, op: Operation): number {
  if (!/^(0|[1-9][0-9]*)$/.test(segment)) throw unprocessable(`${op.op} operation does not apply: invalid array index ${JSON.stringify(segment)} in ${op.pointer}`);
  return Number(segment);
}

function check(actual: unknown, op: Operation): unknown {
  if (!jsonEqual(actual, op.value)) throw unprocessable(`testing value ${op.pointer} failed: test failed`);
  return actual;
}

function missing(op: Operation) {
  return unprocessable(`${op.op} operation does not apply: doc is missing path: ${JSON.stringify(op.pointer)}: missing value`);
}
