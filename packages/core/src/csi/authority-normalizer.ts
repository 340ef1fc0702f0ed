import { Duplex } from "node:stream";
import hpack from "hpack.js";
import {
  DEFAULT_MAX_FRAME_SIZE,
  FrameFlag,
  FrameType,
  Http2FrameReader,
  Http2FramingError,
  frameHeader,
  type Http2Frame,
} from "./http2-frame-reader.js";

/**
 * Kubelet and the CSI sidecars built with grpc-go before ~2022 send the unix socket path (for
 * example `/var/lib/kubelet/plugins/x/csi.sock`) or nothing as the `:authority` of every call.
 * nghttp2, under Node's http2 and so under grpc-js, resets such a stream with PROTOCOL_ERROR and
 * Node has no switch to turn that check off. So we rewrite those values before nghttp2 sees them.
 */
export const FALLBACK_AUTHORITY = "localhost";

// The characters nghttp2's check_authority() allows. '@' is left out as newer nghttp2 releases do
// (Node 20's 1.61 still lets it through); rewriting such a value costs nothing.
const AUTHORITY = /^[A-Za-z0-9!$%&'()*+,\-.:;=[\]_~]+$/;

/** Whether nghttp2 accepts `value` as an `:authority`; the others are replaced by `localhost`. */
export function isAcceptableAuthority(value: string): boolean {
  return AUTHORITY.test(value);
}

/**
 * The server's SETTINGS_HEADER_TABLE_SIZE, which neither grpc-js nor Node changes: it bounds the
 * client's encoder (so our decoder) and the server's decoder (so our encoder).
 */
const HEADER_TABLE_SIZE = 4096;
/** A longer HEADERS+CONTINUATION sequence is a flood, not a request; nghttp2 would refuse it too. */
const MAX_HEADER_BLOCK_BYTES = 16 * 1024 * 1024;

interface OpenHeaderBlock {
  readonly streamId: number;
  readonly endStream: boolean;
  readonly priority: Buffer | undefined;
  readonly fragments: Buffer[];
  length: number;
}

/**
 * Rewrites the header blocks of a client→server HTTP/2 byte stream and passes every other frame on
 * unchanged. Every block is decoded against the client's dynamic table and re-encoded with our own,
 * even when nothing changed: a rewritten value changes our table, and the server's decoder must
 * follow exactly one encoder. Throws {@link Http2FramingError} on a stream it cannot follow.
 */
export class AuthorityRewriter {
  readonly #reader = new Http2FrameReader();
  readonly #decoder = hpack.decompressor.create({ table: { maxSize: HEADER_TABLE_SIZE } });
  readonly #encoder = hpack.compressor.create({ table: { maxSize: HEADER_TABLE_SIZE } });
  #decodeError: Error | undefined;
  #open: OpenHeaderBlock | undefined;

  constructor() {
    this.#decoder.on("error", (err) => {
      this.#decodeError = err;
    });
  }

  /** Consumes the next bytes from the client and returns the bytes to hand to the server. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    for (const unit of this.#reader.push(chunk)) {
      if (unit.kind === "preface") out.push(unit.bytes);
      else this.#frame(unit, out);
    }
    return out;
  }

  #frame(frame: Http2Frame, out: Buffer[]): void {
    let block = this.#open;
    if (block !== undefined) {
      // RFC 9113 §6.10: nothing may come between a HEADERS frame and its CONTINUATIONs.
      if (frame.type !== FrameType.CONTINUATION || frame.streamId !== block.streamId) {
        throw new Http2FramingError(`frame type ${frame.type} on stream ${frame.streamId} interrupts the header block of stream ${block.streamId}`);
      }
      block.fragments.push(frame.payload);
      block.length += frame.payload.length;
    } else if (frame.type === FrameType.HEADERS) {
      block = openHeaderBlock(frame);
      this.#open = block;
    } else if (frame.type === FrameType.CONTINUATION) {
      throw new Http2FramingError(`CONTINUATION on stream ${frame.streamId} without a HEADERS frame`);
    } else {
      out.push(frame.header, frame.payload);
      return;
    }
    if (block.length > MAX_HEADER_BLOCK_BYTES) {
      throw new Http2FramingError(`header block of stream ${block.streamId} exceeds ${MAX_HEADER_BLOCK_BYTES} bytes`);
    }
    if ((frame.flags & FrameFlag.END_HEADERS) === 0) return;
    this.#open = undefined;
    out.push(...headerFrames(block, this.#reencode(Buffer.concat(block.fragments, block.length))));
  }

  #reencode(block: Buffer): Buffer {
    this.#decoder.write(block);
    this.#decoder.execute();
    if (this.#decodeError !== undefined) {
      throw new Http2FramingError(`undecodable header block: ${this.#decodeError.message}`, { cause: this.#decodeError });
    }
    const headers: hpack.Header[] = [];
    for (let header = this.#decoder.read(); header !== null; header = this.#decoder.read()) {
      const value = header.name === ":authority" && !isAcceptableAuthority(header.value) ? FALLBACK_AUTHORITY : header.value;
      // hpack.js looks names and values up in plain objects, where "constructor" or "__proto__"
      // would hit Object.prototype; a never-indexed literal skips that lookup.
      const neverIndex = header.neverIndex === true || header.name in Object.prototype || value in Object.prototype;
      headers.push({ name: header.name, value, neverIndex });
    }
    this.#encoder.write(headers);
    return this.#encoder.read() ?? Buffer.alloc(0);
  }
}

function openHeaderBlock(frame: Http2Frame): OpenHeaderBlock {
  const { payload, flags } = frame;
  let offset = 0;
  let padding = 0;
  if ((flags & FrameFlag.PADDED) !== 0) {
    padding = payload[0] ?? 0;
    offset = 1;
  }
  let priority: Buffer | undefined;
  if ((flags & FrameFlag.PRIORITY) !== 0) {
    priority = payload.subarray(offset, offset + 5);
    offset += 5;
  }
  if (offset + padding > payload.length) {
    throw new Http2FramingError(`HEADERS frame on stream ${frame.streamId} is shorter than its padding and priority fields`);
  }
  const fragment = payload.subarray(offset, payload.length - padding);
  return {
    streamId: frame.streamId,
    endStream: (flags & FrameFlag.END_STREAM) !== 0,
    priority,
    fragments: [fragment],
    length: fragment.length,
  };
}

/** HEADERS then CONTINUATIONs no longer than the initial max frame size, which every peer accepts. */
function headerFrames(block: OpenHeaderBlock, encoded: Buffer): Buffer[] {
  const priority = block.priority ?? Buffer.alloc(0);
  const firstRoom = DEFAULT_MAX_FRAME_SIZE - priority.length;
  const fragments = [encoded.subarray(0, firstRoom)];
  for (let at = firstRoom; at < encoded.length; at += DEFAULT_MAX_FRAME_SIZE) {
    fragments.push(encoded.subarray(at, at + DEFAULT_MAX_FRAME_SIZE));
  }
  return fragments.flatMap((fragment, i) => {
    const endHeaders = i === fragments.length - 1 ? FrameFlag.END_HEADERS : 0;
    if (i > 0) return [frameHeader(fragment.length, FrameType.CONTINUATION, endHeaders, block.streamId), fragment];
    const flags = endHeaders | (block.endStream ? FrameFlag.END_STREAM : 0) | (block.priority ? FrameFlag.PRIORITY : 0);
    return [frameHeader(priority.length + fragment.length, FrameType.HEADERS, flags, block.streamId), priority, fragment];
  });
}

/**
 * Wraps an accepted connection for `injectConnection`: reads yield the client's bytes with every
 * `:authority` nghttp2 would refuse replaced by `localhost`; writes go to the socket unchanged.
 * A stream that is not well-formed HTTP/2 destroys the connection with an Http2FramingError.
 */
export function normalizeAuthority(socket: Duplex): Duplex {
  const rewriter = new AuthorityRewriter();
  const normalized = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end();
      callback();
    },
    destroy(err, callback) {
      socket.destroy();
      callback(err);
    },
  });
  socket.on("data", (chunk: Buffer) => {
    let out: Buffer[];
    try {
      out = rewriter.push(chunk);
    } catch (err) {
      normalized.destroy(err instanceof Error ? err : new Http2FramingError(String(err)));
      return;
    }
    let wantsMore = true;
    for (const piece of adjacentJoined(out)) wantsMore = normalized.push(piece);
    if (!wantsMore) socket.pause();
  });
  socket.on("end", () => normalized.push(null));
  socket.on("error", (err) => normalized.destroy(err));
  socket.on("close", () => normalized.destroy());
  return normalized;
}

/**
 * The pieces with each run of pieces that lie next to each other in one underlying buffer (frames passed
 * on unchanged are slices of the socket's chunk) joined into one view: a request's body passes without
 * being copied, in as few pushes as the header blocks between its frames allow.
 */
export function adjacentJoined(pieces: readonly Buffer[]): Buffer[] {
  const joined: Buffer[] = [];
  for (const piece of pieces) {
    if (piece.length === 0) continue;
    const last = joined.at(-1);
    if (last !== undefined && last.buffer === piece.buffer && last.byteOffset + last.length === piece.byteOffset) {
      joined[joined.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + piece.length);
    } else {
      joined.push(piece);
    }
  }
  return joined;
}
