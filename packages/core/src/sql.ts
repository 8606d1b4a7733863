/**
 * Quoting for the statements that cannot take parameters (DDL, roles). Values that can be parameters
 * are always passed as parameters.
 */

/** An SQL identifier, quoted. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** An SQL text literal (standard strings: only quotes need doubling). */
export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
