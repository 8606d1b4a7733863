import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureInstalled } from './install.js';
import { LocalServer, type ServerOptions } from './local-server.js';

export interface ScrapeTarget {
  /** host:port of a /metrics endpoint. */
  address: string;
  labels?: Record<string, string>;
  path?: string;
}

export interface PrometheusServerOptions extends ServerOptions {
  targets: ScrapeTarget[];
  ruleFiles?: string[];
  scrapeInterval?: string;
}

export interface PrometheusQueryResult {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: unknown[] };
}

/** A real Prometheus (Debian's package) on 127.0.0.1, scraping the given targets. */
export class PrometheusServer extends LocalServer {
  readonly name = 'prometheus';
  private readonly binary: string;

  private constructor(
    port: number,
    private readonly options: PrometheusServerOptions,
  ) {
    super(port, options);
    this.binary = ensureInstalled('prometheus').prometheus;
  }

  static async create(options: PrometheusServerOptions): Promise<PrometheusServer> {
    return new PrometheusServer(await LocalServer.pickPort(options), options);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  protected spec() {
    const { targets, ruleFiles = [], scrapeInterval = '5s' } = this.options;
    const config = {
      global: { scrape_interval: scrapeInterval, evaluation_interval: scrapeInterval },
      rule_files: ruleFiles,
      scrape_configs: [
        {
          job_name: 'plantmesh',
          static_configs: targets.map((target) => ({ targets: [target.address], labels: target.labels ?? {} })),
        },
      ],
    };
    const file = join(this.dir, 'prometheus.yml');
    // JSON is YAML: no YAML writer needed for a generated file.
    writeFileSync(file, JSON.stringify(config, null, 2));
    return {
      command: this.binary,
      args: [
        `--config.file=${file}`,
        `--storage.tsdb.path=${join(this.dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${this.port}`,
        '--web.enable-lifecycle',
      ],
    };
  }

  protected async probe(): Promise<boolean> {
    return (await fetch(`${this.url}/-/ready`)).status === 200;
  }

  /** An instant query; a bad expression comes back with status "error" and the reason. */
  async query(expression: string): Promise<PrometheusQueryResult> {
    const response = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expression)}`);
    return (await response.json()) as PrometheusQueryResult;
  }
}
