/** What went wrong, for a program to branch on; the message says what to do about it. */
export type PlantmeshErrorCode =
  | 'not-found'
  | 'bad-argument'
  | 'permission'
  | 'authentication'
  | 'connection'
  | 'timeout'
  | 'cancelled'
  | 'database';

/** An SDK call that failed, with the cause (the driver's error) kept. */
export class PlantmeshError extends Error {
  /** Always PlantmeshError. */
  override name = 'PlantmeshError';

  constructor(
    /** What went wrong, for a program to branch on. */
    readonly code: PlantmeshErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface DriverError {
  code?: string;
  message?: string;
  hint?: string;
  address?: string;
  port?: number;
}

/**
 * A driver or database error as a PlantmeshError: the interface's own refusals keep their message and
 * hint; the common failures of a connection or a login get a message that says what to check.
 */
export function explain(error: unknown, what: string): PlantmeshError {
  if (error instanceof PlantmeshError) return error;
  const driver = (error ?? {}) as DriverError;
  const said = [driver.message, driver.hint].filter(Boolean).join(' — ');
  switch (driver.code) {
    case 'P0002':
      return new PlantmeshError('not-found', said, { cause: error });
    case '22023':
    case '22007':
    case '22008':
    case '22P02':
      return new PlantmeshError('bad-argument', `${what}: ${said}`, { cause: error });
    case '42501':
      return new PlantmeshError(
        'permission',
        `${what}: the login may not do this (${driver.message}). Reading needs the reader role, writing results ` +
          'the results-writer role: plantmesh users create NAME --role reader|results-writer',
        { cause: error },
      );
    case '28P01':
    case '28000':
      return new PlantmeshError(
        'authentication',
        `${what}: ${driver.message}; check the user and password in the URL`,
        {
          cause: error,
        },
      );
    case '57014':
      return new PlantmeshError('timeout', `${what}: the statement took longer than the statement timeout`, {
        cause: error,
      });
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
      return new PlantmeshError(
        'connection',
        `${what}: cannot reach PostgreSQL${driver.address ? ` at ${driver.address}:${driver.port}` : ''} (${driver.code}); ` +
          'check the URL and that the server is up',
        { cause: error },
      );
    default:
      return new PlantmeshError('database', `${what}: ${said || String(error)}`, { cause: error });
  }
}
