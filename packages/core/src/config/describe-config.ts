import { formatSettingValue, type ConfigOf, type SettingSpecs } from "./settings.js";

/**
 * The effective configuration as a plain object keyed by flag, for the start-up log line: values in
 * the syntax an operator would write, secrets replaced so the log can be shared.
 */
export function describeConfig<S extends SettingSpecs>(specs: S, config: ConfigOf<S>): Record<string, string> {
  const values: Readonly<Record<string, unknown>> = config;
  const described: Record<string, string> = {};
  for (const [key, setting] of Object.entries(specs)) {
    described[setting.flag] = setting.secret ? "[redacted]" : formatSettingValue(setting, values[key]);
  }
  return described;
}
