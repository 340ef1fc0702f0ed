import type { csi } from "@rds-csi/core";

/** The one topology segment every volume of this RDS is accessible from, e.g. `topology.rds.csi.srvlab.io/rds=rack1`. */
export interface TopologySegment {
  readonly key: string;
  readonly value: string;
}

/** A volume's accessible_topology: the configured segment, or nothing when none is configured. */
export function accessibleTopology(segment: TopologySegment | undefined): csi.Topology[] {
  return segment ? [{ segments: { [segment.key]: segment.value } }] : [];
}

function matches(segment: TopologySegment, topology: csi.Topology): boolean {
  return topology.segments[segment.key] === segment.value;
}

/**
 * Whether volumes can be placed where the CO requires. Without a configured segment the driver does
 * not advertise accessibility constraints, so requirements do not concern it. `preferred` is only a
 * preference; `requisite`, when given, must contain the segment.
 */
export function satisfiesRequirement(segment: TopologySegment | undefined, requirement: csi.TopologyRequirement | undefined): boolean {
  if (!segment || !requirement || requirement.requisite.length === 0) return true;
  return requirement.requisite.some((topology) => matches(segment, topology));
}

/** GetCapacity's accessible_topology: capacity exists only in the configured segment. */
export function withinTopology(segment: TopologySegment | undefined, topology: csi.Topology | undefined): boolean {
  return !segment || !topology || matches(segment, topology);
}
