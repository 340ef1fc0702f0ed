import { InvalidArgumentError } from "../errors.js";
import { KubeConnection, type KubeConnectionOptions } from "./kube-connection.js";

const token = (): Promise<string> => Promise.resolve("secret");
const certificate = { clientCertificate: "-----BEGIN CERTIFICATE-----", clientKey: "-----BEGIN PRIVATE KEY-----" };

function accepted(options: KubeConnectionOptions): void {
  new KubeConnection(options).close();
}

describe("KubeConnection", () => {
  it.each([
    ["a token", { token }],
    ["a client certificate", certificate],
  ])("refuses plain http: to another host with %s, naming the server and why", (_what, credentials) => {
    for (const server of ["http://10.0.0.1:8080", "http://k8s.example", "http://[fd00::1]:6443", "http://128.0.0.1", "http://[::ffff:127.0.0.1]"]) {
      const connect = (): void => accepted({ server, ...credentials });
      expect(connect).toThrow(InvalidArgumentError);
      expect(connect).toThrow(`the API server ${server} is plain http: on a host other than this one, which would send the credentials in cleartext; use https:`);
    }
  });

  it("accepts plain http: with credentials on a loopback address, where kubectl proxy and the fake API server listen", () => {
    for (const server of ["http://127.0.0.1:8001", "http://127.9.8.7", "http://[::1]:8001", "http://localhost:8001/proxy/"]) {
      expect(() => accepted({ server, token, ...certificate })).not.toThrow();
    }
  });

  it("accepts https: with credentials anywhere, and plain http: without any", () => {
    expect(() => accepted({ server: "https://10.0.0.1:6443", token, ...certificate })).not.toThrow();
    expect(() => accepted({ server: "http://10.0.0.1:8080" })).not.toThrow();
  });

  it("refuses a URL that is neither https: nor http:", () => {
    expect(() => accepted({ server: "ftp://10.0.0.1" })).toThrow(InvalidArgumentError);
  });
});
