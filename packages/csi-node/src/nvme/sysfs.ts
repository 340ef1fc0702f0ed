import { readdir, readFile, realpath } from "node:fs/promises";
import { isAbsolute, join, relative, sep } from "node:path";

/**
 * Read access to the kernel's sysfs, rooted at a configurable directory (`/sys` in production, the
 * fake fabric's tree in tests). Paths are relative to the root. The node plugin never reads sysfs
 * any other way, so the whole NVMe layer runs against a temporary tree.
 */
export interface Sysfs {
  readonly root: string;
  /** The trimmed text of an attribute, or undefined when it does not exist. Other errors throw. */
  read(path: string): Promise<string | undefined>;
  /** The entries of a directory (sorted), or [] when it does not exist. Other errors throw. */
  list(dir: string): Promise<string[]>;
  /** The resolved path relative to the root, or undefined when it does not exist (or leaves the root). */
  realpath(path: string): Promise<string | undefined>;
}

const isMissing = (err: unknown): boolean => {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
};

export class RootedSysfs implements Sysfs {
  constructor(readonly root: string = "/sys") {}

  #abs(path: string): string {
    if (isAbsolute(path) || path.split("/").includes("..")) throw new RangeError(`sysfs path must be relative to the root without "..": ${path}`);
    return join(this.root, path);
  }

  async read(path: string): Promise<string | undefined> {
    try {
      return (await readFile(this.#abs(path), "utf8")).trim();
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async list(dir: string): Promise<string[]> {
    try {
      return (await readdir(this.#abs(dir))).sort();
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
  }

  async realpath(path: string): Promise<string | undefined> {
    let resolved: string;
    let root: string;
    try {
      resolved = await realpath(this.#abs(path));
      root = await realpath(this.root);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    const rel = relative(root, resolved);
    if (rel.startsWith("..") || isAbsolute(rel)) return undefined;
    return rel.split(sep).join("/");
  }
}
