// What a bench run must undo if it is interrupted (SIGINT, SIGTERM) in the middle of a scenario:
// network namespaces, containers. Each scenario registers its undo while it holds the resource.
const undos = new Set<() => unknown>();

/** Registers `undo` until the returned function is called (once the scenario undid it itself). */
export function undoIfInterrupted(undo: () => unknown): () => void {
  undos.add(undo);
  return () => undos.delete(undo);
}

/** Runs every registered undo, the latest first; one that fails does not stop the others. */
export async function undoAll(): Promise<void> {
  for (const undo of [...undos].reverse()) {
    undos.delete(undo);
    try {
      await undo();
    } catch {
      // best effort: the run is ending
    }
  }
}
