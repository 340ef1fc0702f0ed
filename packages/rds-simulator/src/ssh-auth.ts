import { createHash, timingSafeEqual } from "node:crypto";
import type { AuthContext } from "ssh2";
import type { PublicKey } from "./authorized-keys.js";
import { parseLoginName, type Login } from "./login-name.js";

export interface Credentials {
  readonly user: string;
  readonly password?: string;
  readonly authorizedKeys: readonly PublicKey[];
}

export type AuthMethod = "password" | "publickey";

/**
 * `accepted`: the client is in, as this login; `key-acceptable`: the client only asked whether a key
 * would do (no signature yet), and it would; `refused`, with the methods worth trying.
 */
export type AuthDecision =
  | { readonly kind: "accepted"; readonly login: Login }
  | { readonly kind: "key-acceptable" }
  | { readonly kind: "refused"; readonly methods: readonly AuthMethod[] };

/**
 * Decides one SSH authentication request (the caller answers it, so it can remember the login before
 * ssh2 announces the session): the user, console options stripped, must be the configured one, and the
 * password or a signature by an authorized key must check out. `refuseAll` is the authentication-failure
 * fault.
 */
export function decideAuthentication(ctx: AuthContext, credentials: Credentials, refuseAll: boolean): AuthDecision {
  const methods: AuthMethod[] = [];
  if (credentials.password !== undefined) methods.push("password");
  if (credentials.authorizedKeys.length > 0) methods.push("publickey");
  const refused: AuthDecision = { kind: "refused", methods };
  const login = parseLoginName(ctx.username);
  if (refuseAll || login.user !== credentials.user) return refused;
  if (ctx.method === "password") {
    return credentials.password !== undefined && sameSecret(ctx.password, credentials.password) ? { kind: "accepted", login } : refused;
  }
  if (ctx.method !== "publickey") return refused;
  const key = credentials.authorizedKeys.find((candidate) => candidate.getPublicSSH().equals(ctx.key.data));
  if (key === undefined) return refused;
  if (ctx.signature === undefined) return { kind: "key-acceptable" };
  return key.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) === true ? { kind: "accepted", login } : refused;
}

function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string): Buffer => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
