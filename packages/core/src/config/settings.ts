/**
 * How a service declares one setting. A spec is a plain record of these; `loadConfig` turns it into
 * one typed, frozen object. The parser factories below are the only place a raw string becomes a
 * typed value, so every service rejects the same bad input with the same words.
 */
export interface Setting<T> {
  /** kebab-case, written `--csi-endpoint=value` or `--csi-endpoint value` */
  readonly flag: string;
  /** UPPER_SNAKE_CASE environment variable read when the flag is absent */
  readonly env: string;
  readonly description: string;
  /** absent means the setting is required */
  readonly default?: T;
  /** the value (raw or parsed) is never printed: not in errors, help or the logged configuration */
  readonly secret?: boolean;
  /** shown in help after the flag, e.g. `duration` or `int 1..65535` */
  readonly hint?: string;
  /** the raw value a bare `--flag` stands for; without it the flag needs a value */
  readonly bareValue?: string;
  /** throws an Error whose message says what is wrong; the caller adds the setting's name and value */
  parse(raw: string): T;
  /** renders a value in the syntax `parse` accepts, so help shows a default the operator can copy */
  format?(value: T): string;
}

/** A service's settings, keyed by the property name its typed config will have. */
export type SettingSpecs = Readonly<Record<string, Setting<unknown>>>;

/**
 * The parsed type of one setting. A separate, distributive alias on purpose: code generic over a
 * spec (`S extends SettingSpecs & CommonSpecs`) then sees each value's type through the constraint,
 * where an inline conditional would collapse to `unknown`.
 */
export type SettingValue<X> = X extends Setting<infer T> ? T : never;

/** The typed config a spec yields: each key holds its setting's parsed type. */
export type ConfigOf<S extends SettingSpecs> = { readonly [K in keyof S]: SettingValue<S[K]> };

/** What every factory takes: the fields that describe a setting, not how it is parsed. */
export interface SettingInfo<T> {
  readonly flag: string;
  readonly env: string;
  readonly description: string;
  readonly default?: T;
  readonly secret?: boolean;
}

export function stringSetting(info: SettingInfo<string>): Setting<string> {
  return {
    ...info,
    hint: "string",
    parse(raw) {
      // An empty value is almost always a template that rendered nothing; fail instead of running
      // with a blank endpoint or path. Omit the setting to get its default.
      if (raw === "") throw new Error("must not be empty");
      return raw;
    },
  };
}

/** A string that is absent (empty) unless set; a set value must not be empty, like every string setting. */
export function optionalStringSetting(info: Omit<SettingInfo<string>, "default">, check?: (raw: string) => void): Setting<string> {
  const base = stringSetting({ ...info, default: "" });
  return {
    ...base,
    parse(raw) {
      const value = base.parse(raw);
      check?.(value);
      return value;
    },
  };
}

export function intSetting(info: SettingInfo<number> & { readonly min: number; readonly max: number }): Setting<number> {
  const { min, max, ...rest } = info;
  return {
    ...rest,
    hint: `int ${min}..${max}`,
    parse(raw) {
      if (!/^-?\d+$/.test(raw)) throw new Error("must be a whole number");
      const value = Number(raw);
      if (!Number.isSafeInteger(value) || value < min || value > max) {
        throw new Error(`must be between ${min} and ${max}`);
      }
      return value;
    },
  };
}

const DURATION_UNITS_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type DurationUnit = keyof typeof DURATION_UNITS_MS;
const DURATION_SHAPE = /^(?:\d+(?:ms|h|m|s))+$/;
const DURATION_PART = /(\d+)(ms|h|m|s)/g;

/** Go-style durations ("500ms", "30s", "1m30s"), parsed to milliseconds. */
export function durationSetting(info: SettingInfo<number>): Setting<number> {
  return {
    ...info,
    hint: "duration",
    parse(raw) {
      // A bare number is refused because "30" could mean seconds or milliseconds; the unit is the point.
      if (!DURATION_SHAPE.test(raw)) {
        throw new Error("must be a duration with units, e.g. 500ms, 30s, 5m, 1h or 1m30s");
      }
      let total = 0;
      for (const [, amount, unit] of raw.matchAll(DURATION_PART)) {
        total += Number(amount) * DURATION_UNITS_MS[unit as DurationUnit];
      }
      if (!Number.isSafeInteger(total)) throw new Error("is too long");
      return total;
    },
    format(ms) {
      if (ms === 0) return "0s";
      let rest = ms;
      let text = "";
      for (const [unit, size] of Object.entries(DURATION_UNITS_MS)) {
        const amount = Math.floor(rest / size);
        if (amount > 0) text += `${amount}${unit}`;
        rest -= amount * size;
      }
      return text;
    },
  };
}

const TRUE_WORDS = new Set(["true", "1", "yes"]);
const FALSE_WORDS = new Set(["false", "0", "no"]);

export function boolSetting(info: SettingInfo<boolean>): Setting<boolean> {
  return {
    ...info,
    hint: "bool",
    bareValue: "true",
    parse(raw) {
      const word = raw.toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      throw new Error("must be one of true, false, 1, 0, yes, no");
    },
  };
}

export function enumSetting<const V extends string>(
  info: SettingInfo<V> & { readonly values: readonly V[] },
): Setting<V> {
  const { values, ...rest } = info;
  return {
    ...rest,
    hint: values.join("|"),
    parse(raw) {
      const match = values.find((value) => value === raw);
      if (match === undefined) throw new Error(`must be one of ${values.join(", ")}`);
      return match;
    },
  };
}

/** Comma-separated; items are trimmed, an empty value is an empty list, an empty item is an error. */
export function listSetting(info: SettingInfo<readonly string[]>): Setting<readonly string[]> {
  return {
    ...info,
    hint: "list",
    parse(raw) {
      if (raw.trim() === "") return Object.freeze([]);
      const items = raw.split(",").map((item) => item.trim());
      if (items.includes("")) throw new Error("has an empty item; separate items with single commas");
      return Object.freeze(items);
    },
  };
}

/** A value in the syntax the setting's parser accepts; the one renderer for help and logged config. */
export function formatSettingValue<T>(setting: Setting<T>, value: T): string {
  return setting.format ? setting.format(value) : String(value);
}
