import type { FileEntry } from "./file-table.js";
import { bareField, fileSizeField, type RecordDraft } from "./record-fields.js";

/** Every property a `/file` record can print. */
export const FILE_PROPERTIES: ReadonlySet<string> = new Set(["name", "type", "size", "last-modified"]);

/**
 * A `/file print detail` record as RouterOS 7 prints one (MikroTik manual, "Files"): `name=raid10/vols/x.img
 * type=.img file size=10.0GiB last-modified=2026-11-26 10:00:00` — name and type bare, the size rounded;
 * a directory has no size. RouterOS names a file's type after its extension.
 */
export function fileRecord(entry: FileEntry): RecordDraft {
  const fields =
    entry.type === "directory"
      ? [bareField("name", entry.name), bareField("type", "directory")]
      : [bareField("name", entry.name), bareField("type", fileType(entry.name)), fileSizeField("size", entry.size)];
  return { flags: "", comment: "", fields: [...fields, bareField("last-modified", formatTimestamp(entry.lastModified))] };
}

function fileType(name: string): string {
  const base = name.slice(name.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? `${base.slice(dot)} file` : "file";
}

/** `2026-11-26 10:00:00`, in UTC so output does not depend on the host's time zone. */
function formatTimestamp(iso: string): string {
  return new Date(iso).toISOString().slice(0, 19).replace("T", " ");
}
