/**
 * A CycloneDX 1.5 SBOM of one image's contents: every package under the node_modules of a
 * `pnpm deploy --prod` output (what the Dockerfile copies into the image), with its version, purl and
 * declared licence.
 *   node --import tsx scripts/sbom.ts <deploy dir> <image name> <version> > sbom.cdx.json
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

interface PackageJson {
  name?: string;
  version?: string;
  license?: string | { type?: string };
}

interface Component {
  type: 'library';
  'bom-ref': string;
  name: string;
  group?: string;
  version: string;
  purl: string;
  licenses?: Array<{ expression: string }>;
}

function readPackage(dir: string): PackageJson | undefined {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
  } catch {
    return undefined;
  }
}

/** The package folders of a node_modules tree (scoped ones included), through pnpm's links, once each. */
function packageDirs(nodeModules: string, seen = new Set<string>()): string[] {
  if (!existsSync(nodeModules)) return [];
  const found: string[] = [];
  const folders = (dir: string) =>
    readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() || entry.isSymbolicLink())
      .map((entry) => entry.name);
  for (const entry of folders(nodeModules)) {
    const path = join(nodeModules, entry);
    // pnpm's store keeps each package under .pnpm/<id>/node_modules; other dot folders are tools'.
    const candidates = entry.startsWith('@')
      ? folders(path).map((name) => join(path, name))
      : entry === '.pnpm'
        ? folders(path).map((store) => join(path, store, 'node_modules'))
        : entry.startsWith('.')
          ? []
          : [path];
    for (const candidate of candidates) {
      if (!existsSync(candidate)) continue;
      const real = realpathSync(candidate);
      if (seen.has(real)) continue;
      seen.add(real);
      if (candidate.endsWith('node_modules')) found.push(...packageDirs(candidate, seen));
      else found.push(real, ...packageDirs(join(real, 'node_modules'), seen));
    }
  }
  return found;
}

/** The package URL of an npm package: pkg:npm/%40scope/name@version. */
function purl(name: string, version: string): string {
  return `pkg:npm/${name.replace(/^@/, '%40')}@${encodeURIComponent(version)}`;
}

export function sbom(deployDir: string, image: string, version: string) {
  const components = new Map<string, Component>();
  for (const dir of packageDirs(join(deployDir, 'node_modules'))) {
    const pkg = readPackage(dir);
    if (!pkg?.name || !pkg.version) continue;
    const ref = purl(pkg.name, pkg.version);
    if (components.has(ref)) continue;
    const [group, name] = pkg.name.startsWith('@') ? pkg.name.split('/') : [undefined, pkg.name];
    const license = typeof pkg.license === 'string' ? pkg.license : pkg.license?.type;
    components.set(ref, {
      type: 'library',
      'bom-ref': ref,
      ...(group ? { group } : {}),
      name: name as string,
      version: pkg.version,
      purl: ref,
      ...(license ? { licenses: [{ expression: license }] } : {}),
    });
  }
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: new Date().toISOString(),
      tools: { components: [{ type: 'application', name: 'plantmesh scripts/sbom.ts' }] },
      component: { type: 'container', 'bom-ref': image, name: image, version },
    },
    components: [...components.values()].sort((a, b) => a.purl.localeCompare(b.purl)),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [deployDir, image, version] = process.argv.slice(2);
  if (!deployDir || !image || !version) {
    process.stderr.write('usage: node --import tsx scripts/sbom.ts <deploy dir> <image name> <version>\n');
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify(sbom(deployDir, image, version), null, 2)}\n`);
}
