import type { KubeNode } from "./kube-objects.js";
import { hostNqnOf, HOST_NQN_ANNOTATION } from "./host-nqn-annotation.js";

describe("hostNqnOf", () => {
  const node = (value?: string): KubeNode => ({ metadata: { name: "n1", annotations: value === undefined ? {} : { [HOST_NQN_ANNOTATION]: value } } });

  it("reads the node plugin's annotation and ignores what is not an NQN", () => {
    expect(HOST_NQN_ANNOTATION).toBe("rds.csi.srvlab.io/host-nqn");
    expect(hostNqnOf(node(" nqn.2014-08.org.nvmexpress:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427\n"))).toBe(
      "nqn.2014-08.org.nvmexpress:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    );
    expect(hostNqnOf(node())).toBeUndefined();
    expect(hostNqnOf(node("$(reboot)"))).toBeUndefined();
    expect(hostNqnOf({})).toBeUndefined();
  });
});
