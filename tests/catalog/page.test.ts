/**
 * The catalog's web page in a real headless browser (Debian's chromium driven by playwright-core): browse,
 * search, a product with its schema, freshness, ports and access snippets, a lineage graph laid out and
 * drawn (checked on a screenshot's pixels), expanded a level at a time, 1,000 nodes drawn whole, the page's
 * Content-Security-Policy, and hostile metadata (markup in every text field, huge descriptions) rendered
 * inert while the page stays usable.
 */
import {
  type Access,
  type Asset,
  buildServer,
  CatalogStore,
  type LineageEdge,
  type Product,
  type Snapshot,
} from '@plantmesh/catalog';
import { createLogger } from '@plantmesh/core';
import { migrate, stores, storeUrls } from '@plantmesh/schema';
import { PostgresServer } from '@plantmesh/testkit';
import pg from 'pg';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Browser globals of the functions evaluated in the page (the tests' TypeScript has no DOM library).
// biome-ignore lint/suspicious/noExplicitAny: evaluated in chromium, not in Node
declare const window: any, document: any, location: any, Image: any, navigator: any;

const log = createLogger({ service: 'test', version: '0', level: 'silent' });
const TOKEN = 'page-test-registration-token-0123456789';
const CHROMIUM = '/usr/bin/chromium';

const table = (name: string, columns: Asset['columns'] = [], extra: Partial<Asset> = {}): Asset => ({
  id: `postgres_table:${name}`,
  kind: 'postgres_table',
  name,
  tags: [],
  source: 'discovered',
  columns,
  properties: { store: name.split('.')[0], relation: name.split('.')[1] },
  ...extra,
});
const product = (name: string, ports: Product['ports'], extra: Partial<Product> = {}): Product => ({
  name,
  domain: 'utilities',
  owner: 'energy@plant.local',
  description: `The ${name} product`,
  tags: [],
  status: 'active',
  source: 'discovered',
  freshnessObjectiveSeconds: 3_600,
  definedBy: `curated:${name}@1.0.0`,
  ports,
  ...extra,
});
const edge = (from: string, to: string, relation: LineageEdge['relation'] = 'feeds'): LineageEdge => ({
  from,
  to,
  relation,
  source: 'discovered',
});

/**
 * boiler: topic -> filter -> curated.boiler_runs -> business.boiler_kpi (depth 1 from the table: 3 nodes, depth
 * 2: 4); plant-graph: business.plant_total fed by a tree of 9, 90 and 900 tables (depth 3: 1,000 nodes).
 */
function snapshot(): Snapshot {
  const runs = table(
    'curated.boiler_runs',
    [
      { name: 'run_id', type: 'text', nullable: false, position: 1, key: true, description: 'The run' },
      { name: 'steam_mass', type: 'numeric', nullable: true, position: 2, unit: 'KGM', description: 'Steam made' },
      { name: 'ended_at', type: 'timestamp with time zone', nullable: false, position: 3 },
    ],
    { rowCount: 42, rowCountExact: true, newestDataAt: new Date(Date.now() - 120_000).toISOString() },
  );
  const kpi = table('business.boiler_kpi', [{ name: 'steam_per_hour', type: 'numeric', nullable: true, position: 1 }]);
  const filter: Asset = {
    id: 'mqtt_topic:events:plant1/boiler/+/events/#',
    kind: 'mqtt_topic',
    name: 'events:plant1/boiler/+/events/#',
    tags: [],
    source: 'discovered',
    columns: [],
    properties: { broker: 'events', filter: true },
  };
  const topic: Asset = {
    ...filter,
    id: 'mqtt_topic:events:plant1/boiler/b1/events/run.finished',
    name: 'events:plant1/boiler/b1/events/run.finished',
    properties: { broker: 'events', filter: false },
  };
  const total = table('business.plant_total');
  const tree: Asset[] = [];
  const edges: LineageEdge[] = [
    edge(topic.id, filter.id, 'matches'),
    edge(filter.id, runs.id, 'curates'),
    edge(runs.id, kpi.id, 'computes'),
  ];
  let level = [total.id];
  for (const width of [9, 10, 10]) {
    const next: string[] = [];
    for (const parent of level) {
      for (let i = 0; i < width; i++) {
        const asset = table(`curated.t${tree.length + 1}`);
        tree.push(asset);
        next.push(asset.id);
        edges.push(edge(asset.id, parent, 'computes'));
      }
    }
    level = next;
  }
  const access: Access[] = [
    {
      assetId: runs.id,
      kind: 'psql',
      snippet: 'psql "$PLANTMESH_URL" -c \'select * from curated.boiler_runs limit 10\'',
      role: 'plantmesh_reader',
    },
    {
      assetId: runs.id,
      kind: 'sdk',
      snippet: "await mesh.query('curated.boiler_runs', { limit: 10 })",
      role: 'plantmesh_reader',
    },
  ];
  return {
    assets: [runs, kpi, filter, topic, total, ...tree],
    access,
    products: [
      product(
        'boiler',
        [
          { assetId: runs.id, direction: 'output' },
          { assetId: filter.id, direction: 'input', description: 'boiler events' },
        ],
        { title: 'Boiler runs', tags: ['steam', 'boiler'] },
      ),
      product('boiler-kpi', [
        { assetId: kpi.id, direction: 'output' },
        { assetId: runs.id, direction: 'input' },
      ]),
      product('plant-graph', [{ assetId: total.id, direction: 'output' }], { title: 'Plant total' }),
    ],
    edges,
  };
}

const evil = (n: number) =>
  `<script>window.__pwned=${n}</script><img src=x onerror="window.__pwned=${n};alert(${n})"><svg onload="alert(${n})">"'><a href="javascript:alert(${n})">x</a>`;

describe('catalog web page in chromium', () => {
  let server: PostgresServer;
  let pool: pg.Pool;
  let app: Awaited<ReturnType<typeof buildServer>>;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    server = await (await PostgresServer.create()).start();
    await migrate(storeUrls({ DATABASE_URL: server.url }, stores), log);
    pool = new pg.Pool({ connectionString: server.url, max: 4 });
    pool.on('error', () => {});
    const store = new CatalogStore(pool);
    await store.reconcile(snapshot());
    app = await buildServer({ store, log, version: '0.1.0', registrationToken: TOKEN });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    browser = await chromium.launch({ executablePath: CHROMIUM });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await pool?.end();
    await server?.destroy();
  });

  /** A page that records CSP violations, script errors and dialogs. */
  async function open(
    hash = '',
  ): Promise<{ page: Page; violations: () => Promise<string[]>; errors: string[]; dialogs: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const errors: string[] = [];
    const dialogs: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.addInitScript(() => {
      const w = window as unknown as { __violations: string[] };
      w.__violations = [];
      document.addEventListener('securitypolicyviolation', (event: { violatedDirective: string; blockedURI: string }) =>
        w.__violations.push(`${event.violatedDirective} ${event.blockedURI}`),
      );
    });
    await page.goto(`${base}/ui/${hash}`);
    await ready(page, hash);
    return {
      page,
      errors,
      dialogs,
      violations: () => page.evaluate(() => (window as unknown as { __violations: string[] }).__violations),
    };
  }

  async function ready(page: Page, hash: string) {
    await page.waitForFunction((h) => document.body.dataset.ready === h, hash, { timeout: 60_000 });
  }

  async function go(page: Page, hash: string) {
    await page.evaluate((h) => {
      location.hash = h;
    }, hash);
    await ready(page, hash);
  }

  it('serves the page and its assets under a strict Content-Security-Policy', async () => {
    for (const [path, type] of [
      ['/ui/', 'text/html'],
      ['/ui/app.js', 'text/javascript'],
      ['/ui/app.css', 'text/css'],
      ['/ui/vendor/dagre.js', 'text/javascript'],
    ] as const) {
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toContain(type);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
      expect(csp).toContain("require-trusted-types-for 'script'");
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect((await fetch(`${base}/`, { redirect: 'manual' })).headers.get('location')).toBe('/ui/');
    // The API keeps its own policy.
    expect((await fetch(`${base}/v1/products`)).headers.get('content-security-policy')).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    );
    // The page itself has no inline script.
    expect(await (await fetch(`${base}/ui/`)).text()).not.toMatch(/<script(?![^>]*\bsrc=)/);
  });

  it('lists and searches products, and shows a product with its schema, freshness, ports and snippets', async () => {
    const { page, violations, errors } = await open();
    await expect(page.locator('#products tbody tr').count()).resolves.toBe(3);
    await page.fill('#q', 'steam_mass');
    await page.click('#search button');
    await ready(page, '#/search?q=steam_mass');
    const hit = page.locator('#hits li[data-hit="postgres_table:curated.boiler_runs"]');
    await expect(hit.textContent()).resolves.toContain('steam_mass');
    await hit.locator('a', { hasText: 'boiler' }).first().click();
    await ready(page, '#/products/boiler');
    await expect(page.locator('#product-title').textContent()).resolves.toBe('Boiler runs');
    await expect(page.locator('#freshness .badge').textContent()).resolves.toBe('fresh');
    const runs = page.locator('section[data-asset="postgres_table:curated.boiler_runs"]');
    const columns = await runs
      .locator('table.columns tbody tr')
      .evaluateAll((rows) =>
        rows.map((row) => [...row.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent)),
      );
    expect(columns).toEqual([
      ['run_id', 'text', ''],
      ['steam_mass', 'numeric', 'KGM'],
      ['ended_at', 'timestamp with time zone', ''],
    ]);
    await expect(runs.locator('dl').textContent()).resolves.toContain('output');
    await expect(
      page.locator('section[data-asset="mqtt_topic:events:plant1/boiler/+/events/#"] dl').textContent(),
    ).resolves.toContain('Portinput');
    const snippets = await runs.locator('.snippet pre').allTextContents();
    expect(snippets).toContain("await mesh.query('curated.boiler_runs', { limit: 10 })");
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    const copy = runs.locator('.snippet button').first();
    await copy.click();
    await expect.poll(() => copy.textContent()).toBe('Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(
      'psql "$PLANTMESH_URL" -c \'select * from curated.boiler_runs limit 10\'',
    );
    expect(await violations()).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('draws the lineage graph at depth 1, expands it, and the screenshot shows its nodes', async () => {
    const { page, violations, errors } = await open('#/products/boiler');
    const ids = () =>
      page.locator('#graph svg .node').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-id')).sort());
    expect(await ids()).toEqual([
      'mqtt_topic:events:plant1/boiler/+/events/#',
      'postgres_table:business.boiler_kpi',
      'postgres_table:curated.boiler_runs',
    ]);
    expect(await page.locator('#graph svg path.edge').count()).toBe(2);

    // The screenshot: every node's box is painted (its fill, not the background), and the links between are drawn.
    const shot = await page.locator('#graph').screenshot();
    const boxes = await page.evaluate(() => {
      const frame = document.getElementById('graph')!.getBoundingClientRect();
      return [...document.querySelectorAll('#graph .node rect')].map((rect) => {
        const r = rect.getBoundingClientRect();
        return { x: r.x - frame.x, y: r.y - frame.y, width: r.width, height: r.height };
      });
    });
    expect(boxes).toHaveLength(3);
    const blank = await browser.newPage();
    const painted = await blank.evaluate(
      async ({ png, boxes }) => {
        const image = new Image();
        image.src = `data:image/png;base64,${png}`;
        await image.decode();
        const canvas = document.createElement('canvas');
        canvas.width = image.width;
        canvas.height = image.height;
        const context = canvas.getContext('2d')!;
        context.drawImage(image, 0, 0);
        const { data } = context.getImageData(0, 0, image.width, image.height);
        const background = (x: number, y: number) => {
          const i = (y * image.width + x) * 4;
          return data[i]! > 245 && data[i + 1]! > 245 && data[i + 2]! > 245;
        };
        const inside = (x: number, y: number) =>
          boxes.some((b) => x >= b.x - 2 && x <= b.x + b.width + 2 && y >= b.y - 2 && y <= b.y + b.height + 2);
        const perBox = boxes.map((b) => {
          let ink = 0;
          let all = 0;
          for (let y = Math.ceil(b.y + 2); y < b.y + b.height - 2; y++)
            for (let x = Math.ceil(b.x + 2); x < b.x + b.width - 2; x++) {
              all++;
              if (!background(x, y)) ink++;
            }
          return all ? ink / all : 0;
        });
        let outside = 0;
        for (let y = 0; y < image.height; y++)
          for (let x = 0; x < image.width; x++) if (!inside(x, y) && !background(x, y)) outside++;
        return { perBox, outside, width: image.width, height: image.height };
      },
      { png: shot.toString('base64'), boxes },
    );
    await blank.close();
    for (const share of painted.perBox) expect(share).toBeGreaterThan(0.8);
    expect(painted.outside).toBeGreaterThan(50);

    // Expanded one level: the topic that matches the filter appears.
    await page.click('#deeper');
    await ready(page, '#/products/boiler?depth=2&direction=both');
    expect(await ids()).toContain('mqtt_topic:events:plant1/boiler/b1/events/run.finished');
    expect(await page.locator('#graph svg .node').count()).toBe(4);
    // A node of another product leads to it.
    await page.click('#graph .node[data-id="postgres_table:business.boiler_kpi"]');
    await ready(page, '#/products/boiler-kpi');
    expect(await violations()).toEqual([]);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('draws a 1,000-node lineage graph whole', async () => {
    const hash = '#/products/plant-graph?depth=3&direction=upstream';
    const { page, errors } = await open(hash);
    expect(await page.locator('#graph svg .node').count()).toBe(1_000);
    expect(await page.locator('#graph svg path.edge').count()).toBe(999);
    await expect(page.locator('#graph-note').textContent()).resolves.toBe('1000 nodes, 999 links');
    // Capped: the nearest nodes, and a note that says so.
    await go(page, '#/products/plant-graph?depth=3&direction=upstream&max=500');
    expect(await page.locator('#graph svg .node').count()).toBe(500);
    await expect(page.locator('#graph-note.note').textContent()).resolves.toContain(
      'more are in reach: only the nearest 500 are drawn',
    );
    // Still usable: the search answers.
    await page.fill('#q', 'boiler');
    await page.click('#search button');
    await ready(page, '#/search?q=boiler');
    expect(await page.locator('#hits li').count()).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.context().close();
  });

  it('renders hostile metadata as inert text and stays usable', async () => {
    const huge = `${evil(1)} ${'a very long description '.repeat(900)}`.slice(0, 20_000);
    const assetName = `<img src=x onerror="window.__pwned=9;alert(9)">`;
    const body = {
      title: evil(2).slice(0, 200),
      domain: evil(3).slice(0, 200),
      owner: `<script>alert(4)</script>@evil`,
      description: huge,
      tags: ['<script>window.__pwned=5</script>', '<img src=x onerror=alert(6)>'],
      version: '<svg onload=alert(7)>',
      ports: [
        { assetId: `http_api:${assetName}`, direction: 'output', description: evil(8) },
        { assetId: 'postgres_table:curated.boiler_runs', direction: 'input' },
      ],
      assets: [
        {
          kind: 'http_api',
          name: assetName,
          description: huge,
          columns: Array.from({ length: 2_000 }, (_, i) => ({
            name: `<b onmouseover=alert(${i})>c${i}</b>`,
            type: '<script>alert(1)</script>',
            unit: '<i>KGM</i>',
            description: evil(10),
          })),
          properties: { baseUrl: 'javascript:alert(11)' },
        },
      ],
    };
    const response = await fetch(`${base}/v1/products/hostile`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status, await response.clone().text()).toBe(201);
    // Bigger than the API takes: refused with the reason.
    const tooBig = await fetch(`${base}/v1/products/hostile2`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, assets: [], ports: body.ports.slice(1), description: 'x'.repeat(20_001) }),
    });
    expect(tooBig.status).toBe(400);
    expect(((await tooBig.json()) as { detail: string }).detail).toMatch(/description/);

    const { page, violations, errors, dialogs } = await open();
    await expect(page.locator('#products tbody').textContent()).resolves.toContain('<script>window.__pwned=5</script>');
    await go(page, '#/products/hostile');
    await expect(page.locator('#product-title').textContent()).resolves.toBe(body.title);
    await expect(page.locator('#description').textContent()).resolves.toBe(huge);
    const asset = page.locator('section.asset').filter({ has: page.locator('h3', { hasText: 'onerror' }) });
    await expect(asset.locator('h3').textContent()).resolves.toBe(assetName);
    expect(await asset.locator('table.columns tbody tr').count()).toBe(2_000);
    await expect(asset.locator('dl').textContent()).resolves.toContain(`output — ${evil(8)}`);
    await expect(page.locator('#graph .node text').first().textContent()).resolves.toContain('<img');
    await page.hover('table.columns tbody tr td');
    await go(page, '#/search?q=hostile');
    await go(page, '#/products/hostile?depth=2&direction=both');
    // Nothing ran, nothing became markup, and the page still works.
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    expect(await violations()).toEqual([]);
    expect(await page.locator('main img, main script, main b, main i, main a[href^="javascript"]').count()).toBe(0);
    await page.locator('a', { hasText: '← all products' }).click();
    await ready(page, '#/');
    await page.locator('#products a', { hasText: 'boiler' }).first().click();
    await ready(page, '#/products/boiler');
    await expect(page.locator('#product-title').textContent()).resolves.toBe('Boiler runs');
    await page.context().close();
  });
});
