import type { PrintFormat } from "./command-parser.js";
import { formatPrintDetail, type FlagDefinition, type NumberedRecord } from "./format-print-detail.js";
import { formatPrintTerse } from "./format-print-terse.js";
import { failure } from "./routeros-error.js";
import type { DetailWrapMode } from "./settings.js";

/** The records a `print` selected, in the format it asked for. */
export function formatPrint(records: readonly NumberedRecord[], flags: readonly FlagDefinition[], format: PrintFormat, width: number, wrap: DetailWrapMode): string {
  switch (format) {
    case "detail":
      return formatPrintDetail(records, flags, width, wrap);
    case "terse":
      return formatPrintTerse(records, flags);
    case "as-value":
      // Values for a script: a console line that is not inside `:put [...]` shows nothing (MikroTik manual,
      // "Scripting"; tik4net wiki "CLI tips and tricks": "A bare print as-value prints nothing").
      return "";
    case "plain":
      throw failure('the simulator only implements "print detail" and "print terse"');
  }
}
