/** A dependency's state, as the service last saw it; checks must be cheap and must not throw. */
export type ReadinessCheck = () => boolean;

/** The named dependencies a service needs before it is ready for work. */
export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  report(): { ready: boolean; checks: Record<string, boolean> } {
    const checks: Record<string, boolean> = {};
    for (const [name, check] of this.checks) checks[name] = check();
    return { ready: Object.values(checks).every(Boolean), checks };
  }
}
