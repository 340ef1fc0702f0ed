import type { FileEntry } from "./file-table.js";
import { bareField, bytesField, quotedField, type RecordDraft } from "./record-fields.js";

/** Every property a `/file` record can print. */
export const FILE_PROPERTIES: ReadonlySet<string> = new Set(["name", "type", "size", "last-modified"]);

/**
 * A `/file print detail` record: `name="raid10/vols/x.img" type=".img file" size=10 737 418 240
 * last-modified=2026-11-26 10:00:00`; a directory has no size. RouterOS names a file's type after its
 * extension.
 */
export function fileRecord(entry: FileEntry): RecordDraft {
  const fields =
    entry.type === "directory"
      ? [quotedField("name", entry.name), quotedField("type", "directory")]
      : [quotedField("name", entry.name), quotedField("type", fileType(entry.name)), bytesField("size", entry.size)];
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
