import type { Token, TokenKind } from "./cli-tokenizer.js";

/** Walks a token list for the parsers; `endColumn` is where RouterOS points when input ends too early. */
export class TokenCursor {
  readonly #tokens: readonly Token[];
  #position = 0;
  readonly endColumn: number;

  constructor(tokens: readonly Token[], endColumn: number) {
    this.#tokens = tokens;
    this.endColumn = endColumn;
  }

  peek(offset = 0): Token | undefined {
    return this.#tokens[this.#position + offset];
  }

  next(): Token | undefined {
    const token = this.#tokens[this.#position];
    if (token !== undefined) this.#position += 1;
    return token;
  }

  /** Consumes the next token when it has this kind (and text, for words). */
  accept(kind: TokenKind, text?: string): Token | undefined {
    const token = this.peek();
    if (token === undefined || token.kind !== kind || (text !== undefined && token.text !== text)) return undefined;
    this.#position += 1;
    return token;
  }

  /** The column of the next token, or of the end of the line. */
  column(): number {
    return this.peek()?.column ?? this.endColumn;
  }
}
