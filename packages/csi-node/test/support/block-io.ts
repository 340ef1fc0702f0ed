import { open } from "node:fs/promises";

/** Test support: where the block tests put their pattern, clear of any metadata at the device's start. */
export const PATTERN_OFFSET = 1024 * 1024;

/** Writes `data` at `offset` of a device or file and syncs it to the device. */
export async function writeAt(path: string, data: Buffer, offset = PATTERN_OFFSET): Promise<void> {
  const handle = await open(path, "r+");
  try {
    await handle.write(data, 0, data.length, offset);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads `length` bytes at `offset` through a fresh open of `path`. */
export async function readAt(path: string, length: number, offset = PATTERN_OFFSET): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const back = Buffer.alloc(length);
    await handle.read(back, 0, length, offset);
    return back;
  } finally {
    await handle.close();
  }
}
