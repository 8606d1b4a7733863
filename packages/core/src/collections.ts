/**
 * Appends items to the list a map holds under a key (made on first use): grouping without copying the list
 * each time, and without spreading a long list into arguments.
 */
export function appendTo<K, V>(map: Map<K, V[]>, key: K, items: readonly V[]): void {
  let list = map.get(key);
  if (!list) {
    list = [];
    map.set(key, list);
  }
  for (const item of items) list.push(item);
}
