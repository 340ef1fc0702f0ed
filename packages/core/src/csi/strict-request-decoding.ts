import type { ServiceDefinition } from "@grpc/grpc-js";
import { BinaryReader } from "@bufbuild/protobuf/wire";

/**
 * protobuf says a `string` field holds UTF-8; the generated decoders replace invalid bytes with U+FFFD,
 * so two different names would decode to the same text (and hash to the same volume id). Strict decoding
 * refuses them instead: ts-proto's `decode` accepts a reader, and @bufbuild/protobuf's reader takes the
 * UTF-8 decoder it uses for every string of the message, nested messages and map entries included.
 */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** What a request that could not be decoded is replaced with; the unary handler answers it INVALID_ARGUMENT. */
export class UndecodableRequest {
  constructor(readonly reason: string) {}
}

/** The same definition, each method's request decoded strictly; a failure becomes an UndecodableRequest instead of grpc-js's INTERNAL. */
export function withStrictDecoding(definition: ServiceDefinition): ServiceDefinition {
  const strict: Record<string, ServiceDefinition[string]> = {};
  for (const [name, method] of Object.entries(definition)) {
    strict[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          // The generated `decode(input: BinaryReader | Uint8Array)` uses a reader it is given as is.
          return method.requestDeserialize(new BinaryReader(bytes, (data) => strictUtf8.decode(data)) as unknown as Buffer);
        } catch (err) {
          const invalidUtf8 = (err as NodeJS.ErrnoException).code === "ERR_ENCODING_INVALID_ENCODED_DATA";
          return new UndecodableRequest(invalidUtf8 ? "a string field of the request is not valid UTF-8" : "the request is not a valid protobuf message");
        }
      },
    };
  }
  return strict;
}
