import { realpath } from "node:fs/promises";
import { resolve } from "node:path";

/** The path as the kernel records mount points: symlinks resolved; a path that does not exist, made absolute. */
export async function canonicalPath(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return resolve(path);
  }
}
