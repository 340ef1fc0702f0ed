import { formatSettingValue, type Setting, type SettingSpecs } from "./settings.js";

/** Checked before `loadConfig`, so `--help` works even when required settings are missing. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}

export function renderHelp(program: string, summary: string, specs: SettingSpecs): string {
  const lines = [
    `Usage: ${program} [flags]`,
    "",
    summary,
    "",
    "Flags (each can also be set by its environment variable; a flag wins over the variable):",
    "  --help, -h",
    "      Print this help and exit.",
  ];
  for (const setting of Object.values(specs)) {
    lines.push(`  --${setting.flag} <${setting.hint ?? "value"}>`);
    lines.push(`      env ${setting.env}; ${defaultText(setting)}`);
    lines.push(`      ${setting.description}`);
  }
  return `${lines.join("\n")}\n`;
}

function defaultText(setting: Setting<unknown>): string {
  if (setting.default === undefined) return "required";
  if (setting.secret) return "default hidden";
  return `default ${JSON.stringify(formatSettingValue(setting, setting.default))}`;
}
