import { KeyDeskProblem } from '../problem/problem.js';
import { DEFAULT_ROTATION_PAGE, MAX_ROTATION_PAGE, type Rotation, type RotationFilter } from './types.js';

/**
 * The rotations list's paging, the same in every store: newest request first (ties by id), and an
 * opaque cursor naming the last rotation of the page before.
 */

export interface RotationCursor {
  requestedAt: string;
  id: string;
}

export function pageLimit(filter: RotationFilter): number {
  const limit = filter.limit ?? DEFAULT_ROTATION_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_ROTATION_PAGE) throw new KeyDeskProblem('invalid_request', `limit must be a whole number from 1 to ${MAX_ROTATION_PAGE}.`);
  return limit;
}

export function encodeCursor(rotation: Pick<Rotation, 'requestedAt' | 'id'>): string {
  return Buffer.from(JSON.stringify([rotation.requestedAt, rotation.id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined): RotationCursor | null {
  if (cursor === null || cursor === undefined || cursor === '') return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === 'string' && typeof parsed[1] === 'string' && !Number.isNaN(Date.parse(parsed[0]))) {
      return { requestedAt: parsed[0], id: parsed[1] };
    }
  } catch {
    // Falls through to the problem below.
  }
  throw new KeyDeskProblem('invalid_request', 'cursor is not one KeyDesk issued: pass the nextCursor of the previous page unchanged.');
}

/** Newest first: requestedAt, then id, both descending. */
export function newestFirst(a: Pick<Rotation, 'requestedAt' | 'id'>, b: Pick<Rotation, 'requestedAt' | 'id'>): number {
  return b.requestedAt.localeCompare(a.requestedAt) || b.id.localeCompare(a.id);
}
