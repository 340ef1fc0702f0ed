/**
 * The one parser of /proc/self/mountinfo (proc(5)). Everything on the node that asks "what is
 * mounted where" goes through here; nothing greps `mount` output or /proc/mounts.
 *
 * Line format:
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)   (10)         (11)
 * Field 7 is zero or more optional fields ("shared:N", "master:N", ...) ended by a lone "-".
 * The kernel escapes space, tab, newline and backslash in paths as octal (`\040`, `\011`, `\012`,
 * `\134`); they are decoded here so callers compare real paths.
 */
export interface MountInfoEntry {
  readonly mountId: number;
  readonly parentId: number;
  readonly major: number;
  readonly minor: number;
  /** "major:minor" of the mounted device, the identity the node compares against sysfs. */
  readonly majorMinor: string;
  /** Root of the mount within its filesystem ("/" unless a bind mount of a subdirectory). */
  readonly root: string;
  readonly mountPoint: string;
  /** Per-mount options (rw/ro, nosuid, relatime, ...). */
  readonly mountOptions: readonly string[];
  readonly optionalFields: readonly string[];
  readonly fsType: string;
  readonly source: string;
  /** Per-superblock options. */
  readonly superOptions: readonly string[];
}

export class MountInfoParseError extends Error {
  override readonly name = "MountInfoParseError";
  constructor(
    readonly lineNumber: number,
    reason: string,
  ) {
    super(`mountinfo line ${lineNumber}: ${reason}`);
  }
}

/** Decodes the kernel's octal escapes (`\ooo`); any other backslash is kept as is. */
export function unescapeMountInfoField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_match, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function parseId(text: string, what: string, lineNumber: number): number {
  if (!/^\d+$/.test(text)) throw new MountInfoParseError(lineNumber, `${what} "${text}" is not a number`);
  return Number(text);
}

function splitOptions(text: string): string[] {
  return text === "" ? [] : text.split(",");
}

export function parseMountInfoLine(line: string, lineNumber = 1): MountInfoEntry {
  const fields = line.split(" ");
  const separator = fields.indexOf("-", 6);
  if (fields.length < 10 || separator < 0) {
    throw new MountInfoParseError(lineNumber, "expected at least 10 fields with a '-' separator");
  }
  if (fields.length - separator - 1 < 3) {
    throw new MountInfoParseError(lineNumber, "expected fs type, source and super options after '-'");
  }
  const [mountIdText, parentIdText, devText, root, mountPoint, mountOptions] = fields as [
    string, string, string, string, string, string,
  ];
  const dev = /^(\d+):(\d+)$/.exec(devText);
  if (!dev) throw new MountInfoParseError(lineNumber, `device "${devText}" is not major:minor`);
  const major = Number(dev[1]);
  const minor = Number(dev[2]);
  return {
    mountId: parseId(mountIdText, "mount id", lineNumber),
    parentId: parseId(parentIdText, "parent id", lineNumber),
    major,
    minor,
    majorMinor: `${major}:${minor}`,
    root: unescapeMountInfoField(root),
    mountPoint: unescapeMountInfoField(mountPoint),
    mountOptions: splitOptions(mountOptions),
    optionalFields: fields.slice(6, separator),
    fsType: unescapeMountInfoField(fields[separator + 1]!),
    source: unescapeMountInfoField(fields[separator + 2]!),
    // Super options never contain a space, but join defensively in case a future kernel escapes oddly.
    superOptions: splitOptions(fields.slice(separator + 3).join(" ")),
  };
}

/** Every entry, in the kernel's order (which is mount order: a later entry stacks over an earlier one). */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const entries: MountInfoEntry[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    entries.push(parseMountInfoLine(line, i + 1));
  }
  return entries;
}

/**
 * One entry per mount point. When a mount point is mounted twice (stacked mounts), **the last entry
 * wins**: mountinfo lists mounts in the order they were made, and the later mount covers the earlier,
 * so the last is the one a path lookup at that point actually reaches. Callers that need to see the
 * stack (to refuse stacking a second mount on a target) use `parseMountInfo` and filter.
 */
export function visibleMounts(entries: readonly MountInfoEntry[]): Map<string, MountInfoEntry> {
  const byPoint = new Map<string, MountInfoEntry>();
  for (const entry of entries) byPoint.set(entry.mountPoint, entry);
  return byPoint;
}
