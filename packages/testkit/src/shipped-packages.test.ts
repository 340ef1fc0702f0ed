import { fileURLToPath } from "node:url";
import { describeShippedPackage } from "./shipped-package.js";

// The production packages: what an image of a service holds, core included as its dependency.
const packageDir = (name: string): string => fileURLToPath(new URL(`../../${name}/`, import.meta.url));

describeShippedPackage({ packageDir: packageDir("core") });
describeShippedPackage({
  packageDir: packageDir("csi-controller"),
  deployedCommands: [
    ["dist/main.js", "--help"],
    ["bin/rds-csi-controller", "--help"],
  ],
});
describeShippedPackage({
  packageDir: packageDir("csi-node"),
  // selfcheck loads the RouterOS layer (ssh2, cockatiel) that the plugin itself never loads.
  deployedCommands: [
    ["dist/main.js", "--help"],
    ["bin/rds-csi-node", "--help"],
    ["dist/main.js", "selfcheck", "--help"],
  ],
});
describeShippedPackage({
  packageDir: packageDir("attachment-reconciler"),
  deployedCommands: [["dist/main.js", "--help"]],
});
