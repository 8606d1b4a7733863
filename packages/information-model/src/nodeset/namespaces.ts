/**
 * NodeSet Models -> I3X Namespaces, and the RequiredModel check: a model built on one that is not known
 * (or known in an older version) imports with warnings, since references into it cannot resolve.
 */
import type { Namespace } from '../model.js';
import type { AddressSpace } from './address-space.js';
import type { RawModel } from './xml.js';

export function namespaces(space: AddressSpace): Namespace[] {
  const result = new Map<string, Namespace>();
  for (const model of space.raw.models) {
    if (model.uri === '' || result.has(model.uri)) continue;
    const version = semverOf(model);
    result.set(model.uri, {
      uri: model.uri,
      displayName: namespaceDisplayName(model.uri),
      ...(version === undefined ? {} : { version }),
      ...(model.publicationDate === undefined ? {} : { publicationDate: model.publicationDate }),
      requiredModels: model.requiredModels.map((required) => {
        const requiredVersion = semverOf(required);
        return requiredVersion === undefined ? { uri: required.uri } : { uri: required.uri, version: requiredVersion };
      }),
    });
  }
  // A file may define nodes in a namespace it declares no Model for; its types still need a namespace.
  for (const uri of space.ownNamespaces) {
    if (!result.has(uri)) result.set(uri, { uri, displayName: namespaceDisplayName(uri) });
  }
  return [...result.values()];
}

/** Warns about RequiredModels that are neither known nor defined by this file, or known in an older version. */
export function checkRequiredModels(space: AddressSpace): void {
  const defined = new Set(space.raw.models.map((model) => model.uri));
  for (const model of space.raw.models) {
    for (const required of model.requiredModels) {
      if (defined.has(required.uri)) continue;
      const known = space.known.namespaces.get(required.uri);
      if (!known) {
        space.warn(
          'missing-required-model',
          `${model.uri} requires ${required.uri}, which is not among the known models: references into it do not resolve`,
        );
      } else if (
        required.publicationDate !== undefined &&
        known.publicationDate !== undefined &&
        known.publicationDate < required.publicationDate
      ) {
        space.warn(
          'old-required-model',
          `${model.uri} requires ${required.uri} published ${required.publicationDate}; the known one was published ${known.publicationDate}`,
        );
      }
    }
  }
}

/** ModelVersion (semver) when given, else the Version with leading zeros dropped (1.04.1 -> 1.4.1). */
export function semverOf(model: Pick<RawModel, 'version' | 'modelVersion'>): string | undefined {
  if (model.modelVersion) return model.modelVersion;
  if (!model.version) return undefined;
  const parts = /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(model.version);
  if (!parts) return model.version;
  return [parts[1], parts[2], parts[3] ?? '0'].map((part) => String(Number(part))).join('.');
}

/** A short name for a namespace URI: its last path segment (`http://opcfoundation.org/UA/DI/` -> `DI`). */
export function namespaceDisplayName(uri: string): string {
  const segments = uri
    .replace(/[?#].*$/, '')
    .split(/[/:]/)
    .filter((segment) => segment !== '');
  return segments.at(-1) ?? uri;
}
