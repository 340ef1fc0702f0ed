import { csi } from "@rds-csi/core";
import { callUnary, connectCsi, type CallSettings, type CsiClients } from "@rds-csi/testkit";
import type { ControllerCaller, ControllerConnection } from "../sanity/describe-controller-sanity.js";

/** testkit's callback-style client as the suite's async ControllerCaller. */
export function connectController(endpoint: string): ControllerConnection & { readonly clients: CsiClients } {
  const clients = connectCsi(endpoint);
  const client = clients.controller;
  const controller = Object.fromEntries(
    Object.keys(csi.ControllerService).map((method) => [
      method,
      (request: unknown, settings?: CallSettings) => callUnary(client, Reflect.get(client, method) as Parameters<typeof callUnary>[1], request, settings),
    ]),
  ) as unknown as ControllerCaller;
  return { controller, clients, close: () => clients.close() };
}

