const MULTIPLIERS: Readonly<Record<string, bigint>> = {
  "": 1n,
  k: 1024n,
  m: 1024n ** 2n,
  g: 1024n ** 3n,
  t: 1024n ** 4n,
};

/**
 * Reads a RouterOS size argument: plain bytes or a binary suffix (`1T` = 1 099 511 627 776). Returns
 * undefined for anything else. A bigint, because a size the driver may send (up to 2^63-1) does not fit
 * a double exactly; callers range-check before converting.
 */
export function parseSizeArgument(text: string): bigint | undefined {
  const match = /^(\d+)([KMGTkmgt]?)$/u.exec(text);
  if (match === null) return undefined;
  return BigInt(match[1]!) * MULTIPLIERS[match[2]!.toLowerCase()]!;
}
