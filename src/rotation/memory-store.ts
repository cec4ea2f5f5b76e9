import { decodeCursor, encodeCursor, newestFirst, pageLimit } from './page.js';
import type { Rotation, RotationFilter, RotationPage, RotationState, RotationStore } from './types.js';

/** Rotations in this process's memory: the tests, and the base of the file store. */
export class MemoryRotationStore implements RotationStore {
  protected readonly rotations = new Map<string, Rotation>();

  async create(rotation: Rotation): Promise<{ rotation: Rotation; created: boolean }> {
    const existing = await this.forDisclosure(rotation.disclosureId);
    if (existing) return { rotation: existing, created: false };
    this.rotations.set(rotation.id, structuredClone(rotation));
    await this.changedOrUndo(rotation.id, null);
    return { rotation: structuredClone(rotation), created: true };
  }

  async update(next: Rotation, seen: Pick<Rotation, 'state' | 'updatedAt'>): Promise<boolean> {
    const current = this.rotations.get(next.id);
    if (!current || current.state !== seen.state || current.updatedAt !== seen.updatedAt) return false;
    this.rotations.set(next.id, structuredClone(next));
    await this.changedOrUndo(next.id, current);
    return true;
  }

  async get(id: string): Promise<Rotation | null> {
    const found = this.rotations.get(id);
    return found ? structuredClone(found) : null;
  }

  async forDisclosure(disclosureId: string): Promise<Rotation | null> {
    const wanted = disclosureId.toLowerCase();
    for (const rotation of this.rotations.values()) if (rotation.disclosureId.toLowerCase() === wanted) return structuredClone(rotation);
    return null;
  }

  async list(filter: RotationFilter): Promise<RotationPage> {
    const limit = pageLimit(filter);
    const after = decodeCursor(filter.cursor);
    const matching = [...this.rotations.values()]
      .filter((rotation) => filter.state === undefined || rotation.state === filter.state)
      .filter((rotation) => after === null || newestFirst(after, rotation) < 0)
      .sort(newestFirst);
    const page = matching.slice(0, limit).map((rotation) => structuredClone(rotation));
    return { rotations: page, nextCursor: matching.length > limit ? encodeCursor(page.at(-1)!) : null };
  }

  async inStates(states: readonly RotationState[], limit: number): Promise<Rotation[]> {
    return [...this.rotations.values()]
      .filter((rotation) => states.includes(rotation.state))
      .sort((a, b) => -newestFirst(a, b))
      .slice(0, limit)
      .map((rotation) => structuredClone(rotation));
  }

  /** A change that could not be kept (the file store's write failed) is taken back. */
  private async changedOrUndo(id: string, before: Rotation | null): Promise<void> {
    try {
      await this.changed();
    } catch (error) {
      if (before) this.rotations.set(id, before);
      else this.rotations.delete(id);
      throw error;
    }
  }

  /** After each change; the file store writes itself out here. */
  protected async changed(): Promise<void> {}

  async close(): Promise<void> {}
}
