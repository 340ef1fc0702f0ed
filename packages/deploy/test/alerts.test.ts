// The alert rules with the real promtool (Debian's prometheus package, from scripts/install-deps.sh):
// the file is valid, and files/alerts.test.yaml — a firing and a not-firing case per alert — passes.
import { readFileSync } from "node:fs";
import yaml from "js-yaml";
import { CHART_DIR, runTool } from "./support/repo.js";

const RULES = `${CHART_DIR}/files/alerts.rules.yaml`;
const TESTS = `${CHART_DIR}/files/alerts.test.yaml`;

test("promtool check rules accepts the rule file", async () => {
  const result = await runTool("promtool", ["check", "rules", RULES]);
  expect(result.stdout).toContain("SUCCESS");
  expect(result.code).toBe(0);
});

test("promtool test rules passes, with a firing case for every alert", async () => {
  const result = await runTool("promtool", ["test", "rules", TESTS]);
  expect(`${result.stdout}${result.stderr}`).toContain("SUCCESS");
  expect(result.code).toBe(0);
  const alerts = (yaml.load(readFileSync(RULES, "utf8")) as { groups: { rules: { alert: string }[] }[] }).groups.flatMap((g) => g.rules.map((r) => r.alert));
  const tests = yaml.load(readFileSync(TESTS, "utf8")) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
  const cases = tests.tests.flatMap((t) => t.alert_rule_test);
  const firing = new Set(cases.filter((c) => c.exp_alerts.length > 0).map((c) => c.alertname));
  expect(alerts.filter((alert) => !firing.has(alert))).toEqual([]);
});
