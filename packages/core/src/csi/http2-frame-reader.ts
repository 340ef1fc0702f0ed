/** The 24 bytes every HTTP/2 client sends before its first frame (RFC 9113 §3.4). */
export const CLIENT_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export const FRAME_HEADER_LENGTH = 9;
/** SETTINGS_MAX_FRAME_SIZE's initial value: a frame this long is valid whatever the server advertised. */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;

export const FrameType = { HEADERS: 0x1, CONTINUATION: 0x9 } as const;
export const FrameFlag = { END_STREAM: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

export interface Http2Preface {
  readonly kind: "preface";
  readonly bytes: Buffer;
}

export interface Http2Frame {
  readonly kind: "frame";
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  /** The 9 header bytes as received, so that a frame can be passed on unchanged. */
  readonly header: Buffer;
  readonly payload: Buffer;
}

export type Http2Unit = Http2Preface | Http2Frame;

/** The client's bytes are not HTTP/2; the connection cannot be served. */
export class Http2FramingError extends Error {
  override readonly name = "Http2FramingError";
}

type PendingHeader = Omit<Http2Frame, "payload"> & { readonly length: number };

/**
 * Cuts the client→server byte stream of a connection into its preface and whole frames,
 * however the socket happened to chunk it. The preface is checked byte by byte as it arrives,
 * so a client speaking something else is refused at its first wrong byte.
 */
export class Http2FrameReader {
  #prefaceMatched = 0;
  readonly #chunks: Buffer[] = [];
  #buffered = 0;
  #pending: PendingHeader | undefined;

  push(chunk: Buffer): Http2Unit[] {
    const units: Http2Unit[] = [];
    let data = chunk;
    if (this.#prefaceMatched < CLIENT_PREFACE.length) {
      const n = Math.min(data.length, CLIENT_PREFACE.length - this.#prefaceMatched);
      if (!data.subarray(0, n).equals(CLIENT_PREFACE.subarray(this.#prefaceMatched, this.#prefaceMatched + n))) {
        throw new Http2FramingError("the connection does not start with the HTTP/2 client preface");
      }
      this.#prefaceMatched += n;
      data = data.subarray(n);
      if (this.#prefaceMatched === CLIENT_PREFACE.length) units.push({ kind: "preface", bytes: CLIENT_PREFACE });
    }
    if (data.length > 0) {
      this.#chunks.push(data);
      this.#buffered += data.length;
    }
    for (;;) {
      if (this.#pending === undefined) {
        if (this.#buffered < FRAME_HEADER_LENGTH) break;
        this.#pending = parseFrameHeader(this.#take(FRAME_HEADER_LENGTH));
      }
      const { length, ...frame } = this.#pending;
      if (this.#buffered < length) break;
      units.push({ ...frame, payload: this.#take(length) });
      this.#pending = undefined;
    }
    return units;
  }

  /** Removes and returns the first `n` buffered bytes, copying only when they span chunks. */
  #take(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[0] as Buffer;
      const used = Math.min(chunk.length, n - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(used);
    }
    return out;
  }
}

function parseFrameHeader(header: Buffer): PendingHeader {
  return {
    kind: "frame",
    length: header.readUIntBE(0, 3),
    type: header.readUInt8(3),
    flags: header.readUInt8(4),
    streamId: header.readUInt32BE(5) & 0x7fff_ffff,
    header,
  };
}

/** Serializes a frame header (RFC 9113 §4.1). */
export function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_LENGTH);
  header.writeUIntBE(length, 0, 3);
  header.writeUInt8(type, 3);
  header.writeUInt8(flags, 4);
  header.writeUInt32BE(streamId, 5);
  return header;
}
