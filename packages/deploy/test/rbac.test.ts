// Least privilege per component: the ClusterRole the chart gives each service's own code equals the API
// calls that code makes (src/kube-api-access.ts) — a missing verb would break the service, an extra one
// is privilege nobody uses. The sidecars' roles are their releases' rbac.yaml and are not compared here.
import { renderChart, type KubeDoc } from "./support/helm.js";
import { COMPONENTS } from "./support/services.js";
import { SERVICE_API_ACCESS } from "../src/kube-api-access.js";

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };

/** "group/resource verb @namespace" grants, the unit a missing or extra permission is counted in ("*": a ClusterRole's). */
function grants(rules: readonly { group: string; resource: string; verbs: readonly string[]; namespace?: string }[]): string[] {
  return rules.flatMap((rule) => rule.verbs.map((verb) => `${rule.group}/${rule.resource} ${verb} @${rule.namespace ?? "*"}`)).sort();
}

function renderedGrants(docs: readonly KubeDoc[], component: string): string[] {
  const roles = docs.filter((d) => ["ClusterRole", "Role"].includes(d.kind) && d.metadata.labels?.["app.kubernetes.io/component"] === component && d.metadata.labels?.["rds-csi/rbac-for"] === "driver");
  return grants(
    roles.flatMap((role) => {
      const namespace = role.kind === "ClusterRole" ? undefined : role.metadata.namespace === "rds-csi" ? "release" : role.metadata.namespace;
      return ((role.rules as Rule[] | undefined) ?? []).flatMap((r) => r.apiGroups.flatMap((group) => r.resources.map((resource) => ({ group, resource, verbs: r.verbs, namespace }))));
    }),
  );
}

test.each(COMPONENTS)("the %s's driver role grants exactly the calls its code makes", async (component) => {
  const docs = await renderChart();
  expect(renderedGrants(docs, component)).toEqual(grants(SERVICE_API_ACCESS[component]));
});

test("each driver role is bound to its component's service account, and only there", async () => {
  const docs = await renderChart();
  for (const component of COMPONENTS) {
    const roles = docs.filter((d) => ["ClusterRole", "Role"].includes(d.kind) && d.metadata.labels?.["app.kubernetes.io/component"] === component && d.metadata.labels?.["rds-csi/rbac-for"] === "driver");
    expect(roles.length).toBeGreaterThan(0);
    for (const role of roles) {
      const bindingKind = role.kind === "ClusterRole" ? "ClusterRoleBinding" : "RoleBinding";
      const bindings = docs.filter((d) => d.kind === bindingKind && d.metadata.namespace === role.metadata.namespace && (d.roleRef as { kind: string; name: string }).name === role.metadata.name);
      expect(bindings.map((b) => (b.subjects as { name: string; namespace: string }[]).map((s) => `${s.namespace}/${s.name}`))).toEqual([[`rds-csi/rds-rds-csi-${component}`]]);
    }
  }
});
