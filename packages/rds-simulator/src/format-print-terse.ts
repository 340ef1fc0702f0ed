import { CRLF, recordPrefixes, type FlagDefinition, type NumberedRecord } from "./format-print-detail.js";
import { terseString } from "./quote-value.js";

/**
 * Lays records out as `print terse` does: one record per line whatever the console width, no `Flags:`
 * legend, the index and flag columns as in `print detail`, then a comment as a leading `comment=` pair
 * and every field unquoted, separated by single spaces. Modelled on terse output captured from RouterOS
 * (networktocode/ntc-templates tests/mikrotik_routeros/interface_print_terse_without-paging: ` 0 D   name=ether1
 * ...`, `3    comment=temp uplink to peer name=ether4 ...`, an 838-character line unbroken).
 */
export function formatPrintTerse(records: readonly NumberedRecord[], flags: readonly FlagDefinition[]): string {
  const prefixes = recordPrefixes(records, flags);
  return records
    .map((record) => {
      const pairs = record.fields.map((field) => `${field.name}=${field.terse}`);
      if (record.comment !== "") pairs.unshift(`comment=${terseString(record.comment)}`);
      return `${prefixes.of(record)}${pairs.join(" ")}${CRLF}`;
    })
    .join("");
}
