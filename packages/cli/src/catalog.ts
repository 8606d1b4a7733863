/**
 * `plantmesh catalog`: the data-product catalog from the command line. `apply FILE...` validates ODCS
 * contracts and ODPS products against the published schemas and registers them with the catalog's API
 * (CATALOG_URL, CATALOG_TOKEN); see @plantmesh/catalog's standards.
 */
import { catalogApply, catalogApplyUsage } from '@plantmesh/catalog/standards';

export async function catalogCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const printError = (line: string) => process.stderr.write(`${line}\n`);
  if (action === 'apply') return catalogApply(rest, process.env, print, printError);
  printError(`plantmesh catalog: say apply\n${catalogApplyUsage}`);
  return 2;
}
