import { failure, invalidValue } from "./routeros-error.js";

/**
 * Checks a `/disk add file-path=` (`/raid10/vols/x.img`) and returns its RouterOS file name
 * (`raid10/vols/x.img`). The path must be absolute, name a file below the pool's mount point, and have
 * no empty, `.` or `..` segment or control character — which also keeps its backing file inside the
 * state directory.
 */
export function poolFileName(filePath: string, poolName: string): string {
  if (!filePath.startsWith("/")) throw invalidValue("file-path");
  const segments = filePath.slice(1).split("/");
  const valid = segments.every((segment) => segment !== "" && segment !== "." && segment !== ".." && !/\p{Cc}/u.test(segment));
  if (!valid || segments.length < 2) throw invalidValue("file-path");
  if (segments[0] !== poolName) throw failure("file-path is not on a mounted disk");
  return segments.join("/");
}

/** The directories between the pool's mount point and the file: `raid10/a/b/x.img` → `raid10/a`, `raid10/a/b`. */
export function parentDirectories(fileName: string): string[] {
  const segments = fileName.split("/");
  const directories: string[] = [];
  for (let depth = 2; depth < segments.length; depth += 1) directories.push(segments.slice(0, depth).join("/"));
  return directories;
}
