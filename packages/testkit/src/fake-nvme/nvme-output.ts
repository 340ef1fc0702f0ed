import type { ControllerRecord, FabricState, SubsystemRecord } from "./fabric-state.js";
import { controllerName, subsystemName } from "./sysfs-layout.js";
import { FAKE_FIRMWARE, FAKE_MODEL, serialOf } from "./sysfs-tree.js";

/** `nvme version` of Debian's nvme-cli 2.3, the version whose formats this fake reproduces. */
export const VERSION_TEXT = "nvme version 2.3 (git 2.3)\nlibnvme version 1.3 (git 1.3)\n";

type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };

/**
 * JSON as nvme-cli 2.x prints it: json-c's JSON_C_TO_STRING_PRETTY (two-space indent, no space after
 * the colon, an empty array as `[` newline `]`), then a newline.
 */
export function jsonC(value: Json): string {
  return `${render(value, 0)}\n`;
}

function render(value: Json, level: number): string {
  const pad = (depth: number): string => "  ".repeat(depth);
  if (Array.isArray(value)) {
    const items = (value as readonly Json[]).map((item) => `${pad(level + 1)}${render(item, level + 1)}`);
    return `[\n${items.join(",\n")}${items.length > 0 ? "\n" : ""}${pad(level)}]`;
  }
  if (value !== null && typeof value === "object") {
    const fields = Object.entries(value).map(([key, item]) => `${pad(level + 1)}${JSON.stringify(key)}:${render(item as Json, level + 1)}`);
    return `{\n${fields.join(",\n")}${fields.length > 0 ? "\n" : ""}${pad(level)}}`;
  }
  return JSON.stringify(value);
}

/** `nvme connect` on success: `device: nvmeC` (normal) or `{"device":"nvmeC"}` (`-o json`). */
export function connectOutput(controller: string, json: boolean): string {
  return json ? jsonC({ device: controller }) : `device: ${controller}\n`;
}

export function disconnectOutput(nqn: string, count: number): string {
  return `NQN:${nqn} disconnected ${count} controller(s)\n`;
}

/** The controllers grouped as nvme-cli groups them: per host NQN, then per subsystem. */
interface HostView {
  readonly hostNqn: string;
  readonly hostId: string | undefined;
  readonly subsystems: { readonly sub: SubsystemRecord; readonly controllers: ControllerRecord[] }[];
}

function hostsOf(state: FabricState, only?: SubsystemRecord): HostView[] {
  const hosts = new Map<string, HostView>();
  const controllers = [...state.controllers].sort((a, b) => a.instance - b.instance);
  const subsystems = [...state.subsystems].sort((a, b) => a.instance - b.instance).filter((sub) => only === undefined || sub === only);
  for (const sub of subsystems) {
    for (const ctrl of controllers.filter((candidate) => candidate.subsystem === sub.instance)) {
      const host = hosts.get(ctrl.hostNqn) ?? { hostNqn: ctrl.hostNqn, hostId: ctrl.hostId, subsystems: [] };
      hosts.set(ctrl.hostNqn, host);
      let entry = host.subsystems.find((candidate) => candidate.sub === sub);
      if (entry === undefined) {
        entry = { sub, controllers: [] };
        host.subsystems.push(entry);
      }
      entry.controllers.push(ctrl);
    }
  }
  return [...hosts.values()];
}

function address(ctrl: ControllerRecord): string {
  return `traddr=${ctrl.traddr},trsvcid=${ctrl.trsvcid}`;
}

/**
 * `nvme list-subsys -o json` of nvme-cli 2.3 (nvme-print.c json_print_nvme_subsystem_list):
 * `[{HostNQN, HostID?, Subsystems: [{Name, NQN, IOPolicy, Paths: [{Name, Transport, Address, State}]}]}]`;
 * with a namespace device argument only that subsystem, and each path also has `ANAState`.
 */
export function listSubsysJson(state: FabricState, only?: SubsystemRecord): string {
  const hosts = hostsOf(state, only).map((host) => ({
    HostNQN: host.hostNqn,
    ...(host.hostId === undefined ? {} : { HostID: host.hostId }),
    Subsystems: host.subsystems.map(({ sub, controllers }) => ({
      Name: subsystemName(sub.instance),
      NQN: sub.nqn,
      IOPolicy: "numa",
      Paths: controllers.map((ctrl) => ({
        Name: controllerName(ctrl.instance),
        Transport: ctrl.transport,
        Address: address(ctrl),
        State: ctrl.state,
        ...(only === undefined ? {} : { ANAState: "optimized" }),
      })),
    })),
  }));
  return jsonC(hosts);
}

/** `nvme list-subsys` in normal output: `nvme-subsysS - NQN=...`, `\`, ` +- nvmeC tcp traddr=...,trsvcid=... live`. */
export function listSubsysText(state: FabricState, only?: SubsystemRecord): string {
  const lines: string[] = [];
  for (const host of hostsOf(state, only)) {
    for (const { sub, controllers } of host.subsystems) {
      lines.push(`${subsystemName(sub.instance)} - NQN=${sub.nqn}`, "\\");
      for (const ctrl of controllers) {
        lines.push(` +- ${controllerName(ctrl.instance)} ${ctrl.transport} ${address(ctrl)} ${ctrl.state}${only === undefined ? "" : " optimized"}`);
      }
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

/**
 * `nvme list -o json` of nvme-cli 2.3 (json_simple_list): `{"Devices":[{NameSpace, DevicePath,
 * Firmware, ModelNumber, SerialNumber, UsedBytes, MaximumLBA, PhysicalSize, SectorSize}]}`, one per
 * visible namespace disk (not yet scanned: not listed); `devRoot` stands in for `/dev`.
 */
export function listJson(state: FabricState, devRoot: string): string {
  const devices = [...state.subsystems]
    .sort((a, b) => a.instance - b.instance)
    .flatMap(({ nqn, namespace: ns }) => (ns === undefined ? [] : [{
      NameSpace: ns.nsid,
      DevicePath: `${devRoot.replace(/\/$/, "")}/${ns.disk}`,
      Firmware: FAKE_FIRMWARE,
      ModelNumber: FAKE_MODEL,
      SerialNumber: serialOf(nqn),
      UsedBytes: ns.sectors * 512,
      MaximumLBA: ns.sectors,
      PhysicalSize: ns.sectors * 512,
      SectorSize: 512,
    }]));
  return jsonC({ Devices: devices });
}
