// Shared test helpers.
import { IpamError } from "../src/index.js";

/** The IpamError fn throws; fails the test if it throws nothing or something else. */
export function err(fn: () => unknown): IpamError {
  try {
    fn();
  } catch (e) {
    if (e instanceof IpamError) return e;
    throw e;
  }
  throw new Error("expected an IpamError");
}

/** The IpamError code fn throws, or undefined if it returns. */
export function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof IpamError) return e.code;
    throw e;
  }
  return undefined;
}
