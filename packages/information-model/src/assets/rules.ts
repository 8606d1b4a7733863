/**
 * What an asset-model file says of sensor series, also of those that appear after it was imported: which
 * equipment a series belongs to (by topic path or MQTT filter) and the relationships it has. Kept in
 * curated.model_loader_state (loader `assets`), applied by the import and by the equipment sync.
 */
import type { Relationship } from '../model.js';
import type { StoredObject } from '../store/write.js';

/** Is a topic filter an MQTT filter: `+` a whole level, `#` only the whole last level, no empty level? */
export function isTopicFilter(filter: string): boolean {
  const levels = filter.split('/');
  return levels.every(
    (level, i) =>
      level.length > 0 &&
      (level === '+' || level === '#' || !/[+#]/.test(level)) &&
      (level !== '#' || i === levels.length - 1),
  );
}

/** Does a series path match an MQTT topic filter? */
export function topicMatches(filter: string, path: string): boolean {
  const f = filter.split('/');
  const p = path.split('/');
  for (let i = 0; i < f.length; i += 1) {
    if (f[i] === '#') return true;
    if (i >= p.length) return false;
    if (f[i] !== '+' && f[i] !== p[i]) return false;
  }
  return f.length === p.length;
}

/**
 * What the file says of series that may appear later: kept in model_loader_state so that the equipment
 * sync places a new series as the file says (store/equipment.ts).
 */
export interface AssetRules {
  /** Which equipment a series belongs to: exact topics first, then the first filter in file order. */
  claims: Array<{ filter: string; parentId: string; name?: string; description?: string }>;
  /** Relationships with a series filter at one end: the type seen from the series, and the equipment. */
  edges: Array<{ filter: string; type: string; targetId: string }>;
}

/** The rules made quick to apply to many series: exact topics by lookup, the filters in order. */
export class AssetRuleMatcher {
  private readonly exactClaims = new Map<string, AssetRules['claims'][number]>();
  private readonly filterClaims: AssetRules['claims'];
  private readonly exactEdges = new Map<string, AssetRules['edges']>();
  private readonly filterEdges: AssetRules['edges'];

  constructor(rules: AssetRules) {
    for (const claim of rules.claims) {
      if (!isWildcard(claim.filter) && !this.exactClaims.has(claim.filter)) this.exactClaims.set(claim.filter, claim);
    }
    this.filterClaims = rules.claims.filter((claim) => isWildcard(claim.filter));
    for (const edge of rules.edges) {
      if (!isWildcard(edge.filter))
        this.exactEdges.set(edge.filter, [...(this.exactEdges.get(edge.filter) ?? []), edge]);
    }
    this.filterEdges = rules.edges.filter((edge) => isWildcard(edge.filter));
  }

  /** The series object as the rules place it, or undefined if no rule names its path. */
  apply(series: StoredObject, path: string): StoredObject | undefined {
    const claim = this.exactClaims.get(path) ?? this.filterClaims.find((rule) => topicMatches(rule.filter, path));
    const edges: Relationship[] = [
      ...(this.exactEdges.get(path) ?? []),
      ...this.filterEdges.filter((rule) => topicMatches(rule.filter, path)),
    ].map((rule) => ({ type: rule.type, targetId: rule.targetId }));
    if (!claim && edges.length === 0) return undefined;
    return {
      ...series,
      ...(claim ? { parentId: claim.parentId, componentOfParent: true } : {}),
      ...(claim?.name === undefined ? {} : { displayName: claim.name }),
      ...(claim?.description === undefined ? {} : { description: claim.description }),
      relationships: [...series.relationships, ...edges],
      system: { ...series.system, ...(claim ? { assetClaim: claim.filter } : {}) },
    };
  }
}

/** Applies the rules to one series object derived from its topic path; undefined if no rule names it. */
export function applyAssetRules(series: StoredObject, path: string, rules: AssetRules): StoredObject | undefined {
  return new AssetRuleMatcher(rules).apply(series, path);
}

function isWildcard(filter: string): boolean {
  return /[+#]/.test(filter);
}
