import {
  InvalidArgumentError,
  OutOfRangeError,
} from "../errors.js";

export const MiB = 1024n ** 2n;
export const GiB = 1024n ** 3n;
export const TiB = 1024n ** 4n;

/**
 * Sizes are whole MiB: a file-backed disk is exported as a namespace of 512-byte sectors, and whole
 * MiB keep every partitioning tool and filesystem aligned. Requests are rounded up, never down.
 */
export const SIZE_GRANULARITY = MiB;

export interface VolumeSizeLimits {
  readonly minBytes: bigint;
  readonly maxBytes: bigint;
}

/** 1 GiB to 16 TiB, the earlier Go driver's bounds. */
export const DEFAULT_VOLUME_SIZE_LIMITS: VolumeSizeLimits = Object.freeze({ minBytes: GiB, maxBytes: 16n * TiB });

/** The two fields of a CSI CapacityRange; 0 means unset, as in the proto. */
export interface RequestedRange {
  readonly requiredBytes: bigint;
  readonly limitBytes: bigint;
}

/** Checks that configured limits can be honoured: whole MiB, minimum not above maximum. */
export function checkSizeLimits(limits: VolumeSizeLimits): VolumeSizeLimits {
  for (const [name, value] of [["minimum", limits.minBytes], ["maximum", limits.maxBytes]] as const) {
    if (value < SIZE_GRANULARITY || value % SIZE_GRANULARITY !== 0n) {
      throw new InvalidArgumentError(`the ${name} volume size ${value} bytes must be a positive whole number of MiB`);
    }
  }
  if (limits.minBytes > limits.maxBytes) {
    throw new InvalidArgumentError(`the minimum volume size ${limits.minBytes} bytes is above the maximum ${limits.maxBytes} bytes`);
  }
  return limits;
}

export function roundUpToGranularity(bytes: bigint): bigint {
  return ((bytes + SIZE_GRANULARITY - 1n) / SIZE_GRANULARITY) * SIZE_GRANULARITY;
}

export interface SizeOptions {
  /** The request field holding the range, for messages; `capacity_range` by default. */
  readonly field?: string;
  /** A copy's source: the new volume must hold all of it. */
  readonly source?: { readonly id: string; readonly bytes: bigint };
}

/**
 * The size to create (or grow to) for a requested range: at least `required_bytes`, the minimum and a
 * copy's source, rounded up to whole MiB, and then within `limit_bytes` and the maximum. A range that
 * cannot be met is OUT_OF_RANGE with the numbers in the message; a negative field is INVALID_ARGUMENT.
 */
export function volumeSize(range: RequestedRange | undefined, limits: VolumeSizeLimits, options: SizeOptions = {}): bigint {
  const field = options.field ?? "capacity_range";
  const required = range?.requiredBytes ?? 0n;
  const limit = range?.limitBytes ?? 0n;
  if (required < 0n) throw new InvalidArgumentError(`${field}.required_bytes must not be negative (got ${required})`);
  if (limit < 0n) throw new InvalidArgumentError(`${field}.limit_bytes must not be negative (got ${limit})`);
  if (limit > 0n && required > limit) {
    throw new OutOfRangeError(`${field}: required_bytes ${required} is above limit_bytes ${limit}`);
  }
  const source = options.source;
  if (source && required > 0n && required < source.bytes) {
    throw new OutOfRangeError(`${field}.required_bytes ${required} is smaller than the source ${source.id} (${source.bytes} bytes)`);
  }
  let wanted = required > limits.minBytes ? required : limits.minBytes;
  if (source && source.bytes > wanted) wanted = source.bytes;
  const size = roundUpToGranularity(wanted);
  if (size > limits.maxBytes) {
    throw new OutOfRangeError(`${field}: ${size} bytes is above the maximum volume size of ${limits.maxBytes} bytes`);
  }
  if (limit > 0n && size > limit) {
    throw new OutOfRangeError(
      `${field}: the smallest size this driver can make is ${size} bytes (minimum ${limits.minBytes}, whole MiB), above limit_bytes ${limit}`,
    );
  }
  return size;
}

/** Whether an existing volume of `bytes` answers the range: what a repeated CreateVolume must check. */
export function sizeFitsRange(bytes: bigint, range: RequestedRange | undefined): boolean {
  const required = range?.requiredBytes ?? 0n;
  const limit = range?.limitBytes ?? 0n;
  return bytes >= required && (limit === 0n || bytes <= limit);
}

const QUANTITY = /^(\d+)(Ki|Mi|Gi|Ti|Pi)?$/;
const UNIT_BYTES = { Ki: 1024n, Mi: MiB, Gi: GiB, Ti: TiB, Pi: 1024n * TiB } as const;
type Unit = keyof typeof UNIT_BYTES;

/** A byte count as Kubernetes writes binary quantities: `1073741824`, `512Mi`, `1Gi`, `16Ti`. */
export function parseByteQuantity(raw: string): bigint {
  const match = QUANTITY.exec(raw);
  if (match === null) throw new InvalidArgumentError(`"${raw}" must be a byte count like 1073741824, 512Mi, 1Gi or 16Ti`);
  const unit = match[2] as Unit | undefined;
  return BigInt(match[1]!) * (unit === undefined ? 1n : UNIT_BYTES[unit]);
}

/** The inverse of `parseByteQuantity`, in the largest unit that divides the value exactly. */
export function formatByteQuantity(bytes: bigint): string {
  const units = Object.entries(UNIT_BYTES).reverse() as Array<[Unit, bigint]>;
  const exact = units.find(([, size]) => bytes !== 0n && bytes % size === 0n);
  return exact ? `${bytes / exact[1]}${exact[0]}` : String(bytes);
}
