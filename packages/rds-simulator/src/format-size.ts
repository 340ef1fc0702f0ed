/** Exact byte counts as RouterOS prints them: groups of three digits separated by spaces (`10 737 418 240`). */
export function formatSpacedInteger(value: number): string {
  return String(value).replace(/\B(?=(\d{3})+(?!\d))/gu, " ");
}

const BINARY_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"] as const;

/**
 * The rounded `file-size=` form: one decimal and a binary unit. The unit moves up only once the value
 * exceeds 1024 of the current one, which is why a real RDS2216 shows a 1 TiB disk as `1024.0GiB`.
 */
export function formatBinarySize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value > 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes}B` : `${value.toFixed(1)}${BINARY_UNITS[unit]}`;
}
