/**
 * The well-known symbol of explicit resource management (`using`):
 * Symbol.dispose, or where the runtime lacks it the symbol Node 20 uses for
 * it, Symbol.for("nodejs.dispose").
 */
export const disposeSymbol: typeof Symbol.dispose =
  ((Symbol as { dispose?: symbol }).dispose ?? Symbol.for("nodejs.dispose")) as typeof Symbol.dispose;
