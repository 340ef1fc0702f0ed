import { ArgumentError, CONNECT_OPTIONS, DISCONNECT_OPTIONS, parseArguments } from "./nvme-arguments.js";

describe("parseArguments (nvme-cli argconfig / getopt_long)", () => {
  it("reads short and long options with separate, attached and = values", () => {
    const parsed = parseArguments(
      ["-t", "tcp", "-a10.0.0.1", "--trsvcid=4420", "--nqn", "nqn.x", "-q", "h", "-l", "-1", "-c", "5", "--keep-alive-tmo=7", "-D", "-o", "json"],
      CONNECT_OPTIONS,
    );
    expect(Object.fromEntries(parsed.options)).toEqual({
      transport: "tcp",
      traddr: "10.0.0.1",
      trsvcid: "4420",
      nqn: "nqn.x",
      hostnqn: "h",
      "ctrl-loss-tmo": "-1",
      "reconnect-delay": "5",
      "keep-alive-tmo": "7",
      "duplicate-connect": true,
      "output-format": "json",
    });
  });

  it("keeps positionals and stops at --", () => {
    expect(parseArguments(["-d", "nvme3", "--", "-x"], DISCONNECT_OPTIONS).positionals).toEqual(["-x"]);
  });

  it.each([
    [["--nope"], "unrecognized option '--nope'"],
    [["-z"], "invalid option -- 'z'"],
    [["-n"], "option requires an argument -- 'n'"],
    [["--nqn"], "option '--nqn' requires an argument"],
  ])("rejects %j like getopt", (argv, message) => {
    expect(() => parseArguments(argv, DISCONNECT_OPTIONS)).toThrow(new ArgumentError(message));
  });
});
