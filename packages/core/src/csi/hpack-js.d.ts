// hpack.js ships no types and has no @types package; this declares only the part the
// :authority normalizer uses (synchronous write/execute/read on its streams).
declare module "hpack.js" {
  namespace hpack {
    interface Header {
      readonly name: string;
      readonly value: string;
      readonly neverIndex?: boolean;
    }

    interface TableOptions {
      readonly table: { readonly maxSize: number };
    }

    interface Decompressor {
      write(block: Buffer): boolean;
      /** Decodes what was written; a malformed block is reported as an "error" event. */
      execute(): void;
      read(): Header | null;
      on(event: "error", listener: (err: Error) => void): this;
    }

    interface Compressor {
      write(headers: readonly Header[]): boolean;
      read(): Buffer | null;
    }

    const decompressor: { create(options: TableOptions): Decompressor };
    const compressor: { create(options: TableOptions): Compressor };
  }

  export = hpack;
}
