// Least privilege per component: the ClusterRole the chart gives each service's own code equals the API
// calls that code makes (src/kube-api-access.ts) — a missing verb would break the service, an extra one
// is privilege nobody uses. The sidecars' roles are their releases' rbac.yaml and are not compared here.
import { renderChart, type KubeDoc } from "./support/helm.js";
import { COMPONENTS } from "./support/services.js";
import { SERVICE_API_ACCESS } from "../src/kube-api-access.js";

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };

/** "group/resource verb" triples, the unit a missing or extra permission is counted in. */
function grants(rules: readonly { group: string; resource: string; verbs: readonly string[] }[]): string[] {
  return rules.flatMap((rule) => rule.verbs.map((verb) => `${rule.group}/${rule.resource} ${verb}`)).sort();
}

function renderedGrants(docs: readonly KubeDoc[], component: string): string[] {
  const roles = docs.filter((d) => d.kind === "ClusterRole" && d.metadata.labels?.["app.kubernetes.io/component"] === component && d.metadata.labels?.["rds-csi/rbac-for"] === "driver");
  const rules = roles.flatMap((role) => (role.rules as Rule[] | undefined) ?? []);
  return grants(rules.flatMap((r) => r.apiGroups.flatMap((group) => r.resources.map((resource) => ({ group, resource, verbs: r.verbs })))));
}

test.each(COMPONENTS)("the %s's driver role grants exactly the calls its code makes", async (component) => {
  const docs = await renderChart();
  expect(renderedGrants(docs, component)).toEqual(grants(SERVICE_API_ACCESS[component]));
});

test("each driver role is bound to its component's service account, and only there", async () => {
  const docs = await renderChart();
  for (const component of COMPONENTS) {
    const roleNames = docs.filter((d) => d.kind === "ClusterRole" && d.metadata.labels?.["app.kubernetes.io/component"] === component && d.metadata.labels?.["rds-csi/rbac-for"] === "driver").map((d) => d.metadata.name);
    for (const name of roleNames) {
      const bindings = docs.filter((d) => d.kind === "ClusterRoleBinding" && (d.roleRef as { name: string }).name === name);
      expect(bindings.map((b) => (b.subjects as { name: string }[]).map((s) => s.name))).toEqual([[`rds-rds-csi-${component}`]]);
    }
  }
});
