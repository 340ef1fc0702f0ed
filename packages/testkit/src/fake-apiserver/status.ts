import { qualifiedResource, type ResourceDefinition } from "./resources.js";

export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  /** the resource (`pods`) for most reasons, the kind (`Pod`) for `Invalid`, as the real server does */
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

/** A meta/v1 `Status`, the body of every error response and of some DELETE responses. */
export interface KubeStatus {
  readonly kind: "Status";
  readonly apiVersion: "v1";
  readonly metadata: Record<string, never>;
  readonly status: "Success" | "Failure";
  readonly message?: string;
  readonly reason?: string;
  readonly details?: StatusDetails;
  readonly code?: number;
}

/** A request the fake refuses; `status` is the body it answers with and `status.code` the HTTP status. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly code: number;
  constructor(readonly status: KubeStatus & { readonly code: number }) {
    super(status.message);
    this.code = status.code;
  }
}

export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError;
}

const reasonByCode: Readonly<Record<number, string>> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  410: "Expired",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

/**
 * A Failure `Status`. The reason defaults to the one the real server uses for `code`; for a code
 * without one the reason is left out, as the server's empty `StatusReasonUnknown` is.
 */
export function failureStatus(
  code: number,
  message: string,
  details?: StatusDetails,
  reason: string | undefined = reasonByCode[code],
): KubeStatus & { readonly code: number } {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    ...(reason === undefined ? {} : { reason }),
    ...(details === undefined ? {} : { details }),
    code,
  };
}

function resourceDetails(def: ResourceDefinition, name: string): StatusDetails {
  return def.group === "" ? { name, kind: def.plural } : { name, group: def.group, kind: def.plural };
}

export function notFound(def: ResourceDefinition, name: string): ApiError {
  return new ApiError(failureStatus(404, `${qualifiedResource(def)} "${name}" not found`, resourceDetails(def, name)));
}

export function alreadyExists(def: ResourceDefinition, name: string): ApiError {
  return new ApiError(failureStatus(409, `${qualifiedResource(def)} "${name}" already exists`, resourceDetails(def, name), "AlreadyExists"));
}

export function conflict(def: ResourceDefinition, name: string, why: string): ApiError {
  return new ApiError(
    failureStatus(409, `Operation cannot be fulfilled on ${qualifiedResource(def)} "${name}": ${why}`, resourceDetails(def, name)),
  );
}

export const staleResourceVersion = "the object has been modified; please apply your changes to the latest version and try again";

export function invalid(def: ResourceDefinition, name: string, field: string, detail: string): ApiError {
  const cause = { reason: "FieldValueInvalid", message: detail, field };
  const details = def.group === "" ? { name, kind: def.kind, causes: [cause] } : { name, group: def.group, kind: def.kind, causes: [cause] };
  return new ApiError(failureStatus(422, `${def.kind} "${name}" is invalid: ${field}: ${detail}`, details));
}

/**
 * A patch that is well formed but cannot be applied (a failed `test`, a missing path): apiserver's patch
 * handler answers errors.NewGenericServerResponse(422, ...) with empty details (no kind: no object was
 * validated), which is how a client tells it from a validation error. The real message is the generic
 * "the server rejected our request due to an error in our request"; the fake says which op failed.
 */
export function unprocessable(message: string): ApiError {
  return new ApiError(failureStatus(422, message, {}));
}

/**
 * A PUT without resourceVersion to a kind whose strategy says AllowUnconditionalUpdate() false
 * (apiserver generic registry store.go Update: NewInvalid on metadata.resourceVersion, the qualified
 * resource in place of the kind).
 */
export function unconditionalUpdate(def: ResourceDefinition, name: string): ApiError {
  const field = "metadata.resourceVersion";
  const detail = "Invalid value: 0x0: must be specified for an update";
  const cause = { reason: "FieldValueInvalid", message: detail, field };
  return new ApiError(
    failureStatus(422, `${qualifiedResource(def)} "${name}" is invalid: ${field}: ${detail}`, { ...resourceDetails(def, name), causes: [cause] }),
  );
}

/** A create in a namespace that does not exist (NamespaceLifecycle: errors.NewNotFound(namespaces, ns)). */
export function namespaceNotFound(namespace: string): ApiError {
  return new ApiError(failureStatus(404, `namespaces "${namespace}" not found`, { name: namespace, kind: "namespaces" }));
}

export function badRequest(message: string): ApiError {
  return new ApiError(failureStatus(400, message));
}

export function expired(message: string): ApiError {
  return new ApiError(failureStatus(410, message));
}

export function routeNotFound(): ApiError {
  return new ApiError(failureStatus(404, "the server could not find the requested resource", {}));
}

export function methodNotAllowed(method: string): ApiError {
  return new ApiError(failureStatus(405, `the server does not allow this method on the requested resource (${method})`));
}

export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(failureStatus(415, `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${JSON.stringify(contentType)})`));
}

/** The Success `Status` a DELETE answers with for resources that do not return the deleted object. */
export function deletedStatus(def: ResourceDefinition, name: string, uid: string | undefined): KubeStatus {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { ...resourceDetails(def, name), ...(uid === undefined ? {} : { uid }) } };
}
