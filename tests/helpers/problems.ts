import { isProblem, type KeyDeskProblem } from '../../src/problem/problem.js';

/** The KeyDeskProblem a promise rejects with; fails the test if it resolves or throws anything else. */
export async function problemOf(promise: Promise<unknown>): Promise<KeyDeskProblem> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!isProblem(error)) throw new Error(`expected a KeyDeskProblem, got ${String(error)}`);
  return error;
}

/** The code of the KeyDeskProblem `fn` throws, or undefined when it throws nothing. */
export function problemCodeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (!isProblem(error)) throw error;
    return error.code;
  }
  return undefined;
}
