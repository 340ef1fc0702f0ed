import { mkdir, open, rmdir, stat, truncate, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";

const COPY_CHUNK = 1024 * 1024;

/**
 * The real bytes behind the pool: RouterOS file `raid10/vols/x.img` is the sparse file
 * `<root>/raid10/vols/x.img`, so tests can attach it to a loop device and read and write real data.
 * Names reaching here were validated (no `.`/`..` or empty segments), so they stay under `root`.
 */
export class BackingFiles {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  hostPath(name: string): string {
    return join(this.root, ...name.split("/"));
  }

  async ensureDirectory(name: string): Promise<void> {
    await mkdir(this.hostPath(name), { recursive: true });
  }

  async exists(name: string): Promise<boolean> {
    try {
      await stat(this.hostPath(name));
      return true;
    } catch {
      return false;
    }
  }

  /** A sparse file of `size` bytes; a leftover host file the catalogue does not know is overwritten. */
  async createEmpty(name: string, size: number): Promise<void> {
    const path = this.hostPath(name);
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, "w");
    try {
      await handle.truncate(size);
    } finally {
      await handle.close();
    }
  }

  /** Copies the source's bytes, leaving all-zero chunks as holes, then sets the size to `size`. */
  async copyData(sourceName: string, name: string, size: number): Promise<void> {
    const path = this.hostPath(name);
    await mkdir(dirname(path), { recursive: true });
    const source = await open(this.hostPath(sourceName), "r");
    try {
      const target = await open(path, "w");
      try {
        const buffer = Buffer.alloc(COPY_CHUNK);
        const zeros = Buffer.alloc(COPY_CHUNK);
        for (let offset = 0; ; ) {
          const { bytesRead } = await source.read(buffer, 0, COPY_CHUNK, offset);
          if (bytesRead === 0) break;
          if (!buffer.subarray(0, bytesRead).equals(zeros.subarray(0, bytesRead))) {
            await target.write(buffer, 0, bytesRead, offset);
          }
          offset += bytesRead;
        }
        await target.truncate(size);
      } finally {
        await target.close();
      }
    } finally {
      await source.close();
    }
  }

  /** Copies `length` bytes at `offset` from the source into the target (created if missing), leaving all-zero chunks as holes. */
  async copyRange(sourceName: string, name: string, offset: number, length: number): Promise<void> {
    const source = await open(this.hostPath(sourceName), "r");
    try {
      const target = await open(this.hostPath(name), "r+");
      try {
        const buffer = Buffer.alloc(Math.min(COPY_CHUNK, length));
        const zeros = Buffer.alloc(buffer.length);
        for (let at = offset; at < offset + length; ) {
          const { bytesRead } = await source.read(buffer, 0, Math.min(buffer.length, offset + length - at), at);
          if (bytesRead === 0) break;
          if (!buffer.subarray(0, bytesRead).equals(zeros.subarray(0, bytesRead))) await target.write(buffer, 0, bytesRead, at);
          at += bytesRead;
        }
        await target.truncate(offset + length);
      } finally {
        await target.close();
      }
    } finally {
      await source.close();
    }
  }

  async resize(name: string, size: number): Promise<void> {
    await truncate(this.hostPath(name), size);
  }

  async removeFile(name: string): Promise<void> {
    await unlink(this.hostPath(name));
  }

  async removeDirectory(name: string): Promise<void> {
    await rmdir(this.hostPath(name));
  }
}
