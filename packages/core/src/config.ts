import { z } from 'zod';

/** A configuration problem: the message names the variable and what it expects, on one line. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type EnvShape = Record<string, z.ZodType>;
export type ConfigOf<S extends EnvShape> = { [K in keyof S]: z.output<S[K]> };

/** Reusable variable kinds, each with a message that says what it expects. */
export const env = {
  string: () => z.string({ error: 'is required' }).min(1, 'must not be empty'),
  port: () =>
    z.coerce
      .number({ error: 'must be a port number' })
      .int('must be a whole number')
      .min(0, 'must be a port number 0-65535')
      .max(65535, 'must be a port number 0-65535'),
  int: (min = 0, max = Number.MAX_SAFE_INTEGER) =>
    z.coerce
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`),
  url: (protocols: string[]) =>
    z.string({ error: `is required (a ${protocols.join(' or ')} URL)` }).refine(
      (value) => {
        try {
          return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
        } catch {
          return false;
        }
      },
      { error: `must be a ${protocols.join(' or ')} URL` },
    ),
  oneOf: <T extends string>(values: readonly [T, ...T[]]) =>
    z.enum(values, { error: `must be one of ${values.join(', ')}` }),
  bool: () =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
      .transform((value) => value === 'true' || value === '1' || value === 'yes'),
};

/**
 * Parses environment variables against a shape. Empty strings count as unset so that
 * `FOO=` in a manifest falls back to the default rather than failing as a bad value.
 */
export function parseEnv<S extends EnvShape>(shape: S, source: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  const input: Record<string, string | undefined> = {};
  for (const name of Object.keys(shape)) {
    const value = source[name];
    input[name] = value === '' ? undefined : value;
  }
  const result = z.object(shape).safeParse(input);
  if (result.success) return result.data as ConfigOf<S>;
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0]);
    const got = input[name];
    return got === undefined ? `${name} ${issue.message}` : `${name} ${issue.message} (got "${got}")`;
  });
  throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}
