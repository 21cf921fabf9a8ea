import type { ClusterView } from '../cluster-view';

/**
 * The replicas a read, or a read-modify-write's catch-up, asks for their copy of `key`: the other
 * alive members of its preference list. While this node still pulls the keys a ring change gave it
 *, also those that held the key before: its replicas on the rings before the change,
 * and the node after the preference list on the current ring, which held a key that a join moved. A
 * member that left is asked as well: it keeps its copies until the new owners hold them.
 */
export function copyHolders(view: ClusterView, key: string, preferenceList: readonly string[]): string[] {
  const self = view.selfId;
  const out: string[] = [];
  const add = (id: string, former: boolean) => {
    if (id === self || out.includes(id)) return;
    if (view.isAlive(id) || (former && !view.ring().nodeIds.includes(id))) out.push(id);
  };
  for (const id of preferenceList) add(id, false);
  const sources = view.sourceRings();
  if (sources.length === 0) return out;
  const n = preferenceList.length;
  for (const id of view.ring().preferenceList(key, n + 1)) add(id, false);
  for (const ring of sources) for (const id of ring.preferenceList(key, n)) add(id, true);
  return out;
}
