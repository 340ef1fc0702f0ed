import { chmod, lstat, mkdir, unlink } from "node:fs/promises";
import { connect } from "node:net";
import { dirname } from "node:path";
import { FailedPreconditionError } from "../errors.js";

/**
 * Makes `path` ready for a fresh listener: creates its directory, and removes a socket file left by a
 * process that died without cleaning up. A socket someone still answers on, or a path that is not a
 * socket at all, is refused instead of deleted: two plugins on one socket, or a removed data file,
 * would both be worse than a failed start.
 */
export async function prepareSocketPath(path: string): Promise<void> {
  await makeDirectories(dirname(path));
  const existing = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (!existing) return;
  if (!existing.isSocket()) {
    throw new FailedPreconditionError(`socket path ${path} exists and is not a socket; refusing to replace it`);
  }
  if (await isAnswering(path)) {
    throw new FailedPreconditionError(`socket ${path} is in use by another process`);
  }
  await unlink(path);
}

/**
 * `mkdir -p`, one level at a time. Node's own `recursive: true` never settles when the kernel answers
 * ENOENT for the directory itself (e.g. under /proc), which would hang start-up instead of failing it.
 */
async function makeDirectories(dir: string): Promise<void> {
  const parent = dirname(dir);
  if (parent !== dir) await makeDirectories(parent);
  await mkdir(dir, { mode: 0o750 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "EEXIST") throw err;
  });
}

export async function setSocketMode(path: string, mode: number): Promise<void> {
  await chmod(path, mode);
}

function isAnswering(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
