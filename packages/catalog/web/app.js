// The catalog's page: browse, search, a product with its schema, freshness, ports, access snippets and
// lineage graph. Every value from the API is put into the DOM as text (textContent, attributes set by
// setAttribute on fixed names), never parsed as markup; the page's CSP forbids inline script and eval.
import dagre from './vendor/dagre.js';

const api = new URL('../v1/', document.baseURI);
const main = document.getElementById('main');
const SVG = 'http://www.w3.org/2000/svg';
/** The largest graph the page asks for (`max=` in its address changes it); beyond it the API answers the nearest nodes and the page says so. */
const MAX_NODES = 1500;

/** An element with attributes and children (strings become text nodes). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
  return node;
}

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

const productLink = (name, text) => el('a', { href: `#/products/${encodeURIComponent(name)}` }, text ?? name);
const clip = (text, max) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

async function get(path) {
  const response = await fetch(new URL(path, api), { headers: { accept: 'application/json' } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail ?? `${response.status} ${response.statusText}`);
  return body;
}

function show(...children) {
  main.replaceChildren(el('div', {}, children));
}

function failed(error) {
  show(el('p', { class: 'error', role: 'alert' }, `The catalog could not answer: ${error.message}`));
}

function tags(list) {
  return (list ?? []).map((tag) => el('span', { class: 'tag' }, tag));
}

function age(seconds) {
  if (seconds === undefined || seconds === null) return 'no data yet';
  const units = [
    [86_400, 'd'],
    [3_600, 'h'],
    [60, 'min'],
  ];
  for (const [size, unit] of units) if (seconds >= size) return `${(seconds / size).toFixed(1)} ${unit}`;
  return `${Math.round(seconds)} s`;
}

// ---- the list ----------------------------------------------------------------------------------------

async function listView() {
  document.title = 'plantmesh catalog';
  const { products, total } = await get('products?limit=1000');
  const rows = products.map((p) =>
    el(
      'tr',
      { 'data-product': p.name },
      el('td', {}, productLink(p.name)),
      el('td', {}, p.title ?? ''),
      el('td', {}, p.domain),
      el('td', {}, p.owner),
      el('td', {}, p.status),
      el('td', {}, tags(p.tags)),
      el('td', {}, el('div', { class: 'cell-description' }, clip(p.description ?? '', 300))),
    ),
  );
  show(
    el('h1', {}, 'Data products'),
    el(
      'p',
      { class: 'muted' },
      `${total} products${total > products.length ? `, the first ${products.length} shown` : ''}`,
    ),
    el(
      'table',
      { id: 'products' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ['Name', 'Title', 'Domain', 'Owner', 'Status', 'Tags', 'Description'].map((h) => el('th', {}, h)),
        ),
      ),
      el('tbody', {}, rows),
    ),
  );
}

// ---- search ------------------------------------------------------------------------------------------

async function searchView(q) {
  document.title = `${q} · plantmesh catalog`;
  document.getElementById('q').value = q;
  const { hits } = await get(`search?q=${encodeURIComponent(q)}&limit=100`);
  const items = hits.map((hit) =>
    el(
      'li',
      { 'data-hit': hit.id },
      hit.type === 'product'
        ? [el('strong', {}, productLink(hit.name)), ' ', el('span', { class: 'muted' }, 'product')]
        : [
            el('strong', {}, hit.name),
            ' ',
            el('span', { class: 'muted' }, hit.kind),
            hit.products.length ? [' in ', hit.products.flatMap((p, i) => [i ? ', ' : '', productLink(p)])] : '',
          ],
      hit.matchedColumns.length ? el('div', { class: 'muted' }, `columns: ${hit.matchedColumns.join(', ')}`) : '',
      hit.description ? el('div', { class: 'cell-description' }, clip(hit.description, 300)) : '',
    ),
  );
  show(
    el('h1', {}, `Search: ${q}`),
    items.length ? el('ul', { class: 'hits', id: 'hits' }, items) : el('p', { id: 'hits' }, 'Nothing found.'),
  );
}

// ---- a product ---------------------------------------------------------------------------------------

function copyButton(text) {
  const button = el('button', { type: 'button', class: 'copy' }, 'Copy');
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = 'Copied';
    } catch {
      // No clipboard (plain HTTP, no permission): select the snippet for Ctrl+C.
      const range = document.createRange();
      range.selectNodeContents(button.previousElementSibling);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      button.textContent = 'Selected';
    }
    setTimeout(() => {
      button.textContent = 'Copy';
    }, 1500);
  });
  return button;
}

function freshnessBlock(freshness) {
  const state = freshness.fresh === true ? 'fresh' : freshness.fresh === false ? 'stale' : 'unknown';
  return el(
    'dl',
    { class: 'facts', id: 'freshness' },
    el('dt', {}, 'Freshness'),
    el('dd', {}, el('span', { class: `badge ${state}` }, state)),
    el('dt', {}, 'Newest data'),
    el('dd', {}, freshness.newestDataAt ?? 'none'),
    el('dt', {}, 'Age'),
    el('dd', {}, age(freshness.ageSeconds)),
    el('dt', {}, 'Objective'),
    el('dd', {}, age(freshness.objectiveSeconds)),
  );
}

function assetBlock(asset, port, access) {
  const facts = [
    ['Kind', asset.kind],
    ['Port', `${port.direction}${port.description ? ` — ${port.description}` : ''}`],
    ['Rows', asset.rowCount === undefined ? undefined : `${asset.rowCount}${asset.rowCountExact ? '' : ' (estimate)'}`],
    ['Newest data', asset.newestDataAt],
  ].filter(([, value]) => value !== undefined);
  const snippets = access.map((a) =>
    el(
      'div',
      { class: 'snippet' },
      el('span', { class: 'muted' }, a.kind),
      el('pre', {}, el('code', {}, a.snippet)),
      copyButton(a.snippet),
    ),
  );
  const roles = [...new Set(access.map((a) => a.role).filter(Boolean))];
  return el(
    'section',
    { class: 'asset', 'data-asset': asset.id },
    el('h3', {}, asset.name),
    asset.description ? el('p', { class: 'description' }, asset.description) : '',
    el(
      'dl',
      { class: 'facts' },
      facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]),
    ),
    asset.columns.length
      ? el(
          'div',
          { class: 'columns-wrap' },
          el(
            'table',
            { class: 'columns' },
            el(
              'thead',
              {},
              el(
                'tr',
                {},
                ['Column', 'Type', 'Unit', 'Null', 'Key', 'Description'].map((h) => el('th', {}, h)),
              ),
            ),
            el(
              'tbody',
              {},
              asset.columns.map((c) =>
                el(
                  'tr',
                  {},
                  el('td', {}, c.name),
                  el('td', {}, c.type),
                  el('td', {}, c.unit ?? ''),
                  el('td', {}, c.nullable ? 'yes' : 'no'),
                  el('td', {}, c.key ? 'key' : ''),
                  el('td', {}, el('div', { class: 'cell-description' }, c.description ?? '')),
                ),
              ),
            ),
          ),
        )
      : '',
    snippets.length ? [el('h4', {}, 'Access'), snippets] : '',
    roles.length ? el('p', { class: 'muted' }, `Read access: role ${roles.join(', ')}`) : '',
  );
}

async function productView(name, params) {
  const product = await get(`products/${encodeURIComponent(name)}`);
  document.title = `${product.title ?? product.name} · plantmesh catalog`;
  const assets = new Map(product.assets.map((a) => [a.id, a]));
  const ports = [...product.ports].sort((a, b) =>
    a.direction === b.direction ? 0 : a.direction === 'output' ? -1 : 1,
  );
  const graph = el('div', { class: 'graph', id: 'graph' });
  const depth = Math.min(Math.max(Number.parseInt(params.get('depth') ?? '1', 10) || 1, 0), 50);
  const direction = ['upstream', 'downstream', 'both'].includes(params.get('direction'))
    ? params.get('direction')
    : 'both';
  const max = Math.min(Math.max(Number.parseInt(params.get('max') ?? `${MAX_NODES}`, 10) || MAX_NODES, 1), 5_000);
  const at = (d, dir) =>
    `#/products/${encodeURIComponent(name)}?depth=${d}&direction=${dir}${max === MAX_NODES ? '' : `&max=${max}`}`;
  const select = el(
    'select',
    { id: 'direction', 'aria-label': 'direction' },
    ['both', 'upstream', 'downstream'].map((d) => el('option', { value: d, selected: d === direction }, d)),
  );
  select.addEventListener('change', () => {
    location.hash = at(depth, select.value);
  });
  const note = el('span', { id: 'graph-note', class: 'muted' }, 'Loading…');
  show(
    el('p', {}, el('a', { href: '#/' }, '← all products')),
    el('h1', { id: 'product-title' }, product.title ?? product.name),
    el(
      'dl',
      { class: 'facts' },
      [
        ['Name', product.name],
        ['Domain', product.domain],
        ['Owner', product.owner],
        ['Status', product.status],
        ['Version', product.version],
        ['Defined by', product.definedBy],
      ]
        .filter(([, v]) => v !== undefined)
        .flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]),
    ),
    el('div', {}, tags(product.tags)),
    el('p', { class: 'description', id: 'description' }, product.description),
    freshnessBlock(product.freshness),
    el('h2', {}, 'Lineage'),
    el(
      'div',
      { class: 'controls' },
      select,
      el('span', {}, `depth ${depth}`),
      depth > 0 ? el('a', { href: at(depth - 1, direction), id: 'shallower' }, 'less') : '',
      depth < 50 ? el('a', { href: at(depth + 1, direction), id: 'deeper' }, 'expand') : '',
      note,
    ),
    graph,
    el('h2', {}, 'Ports and schema'),
    ports.map((port) => {
      const asset = assets.get(port.assetId);
      return asset
        ? assetBlock(
            asset,
            port,
            product.access.filter((a) => a.assetId === asset.id),
          )
        : el(
            'section',
            { class: 'asset' },
            el('h3', {}, port.assetId),
            el('p', { class: 'muted' }, 'not in the catalog'),
          );
    }),
  );
  const lineage = await get(
    `products/${encodeURIComponent(name)}/lineage?direction=${direction}&depth=${depth}&maxNodes=${max}`,
  );
  const roots = new Set(product.ports.filter((p) => p.direction === 'output').map((p) => p.assetId));
  drawGraph(graph, lineage, roots.size ? roots : new Set(product.ports.map((p) => p.assetId)), name);
  note.textContent = `${lineage.nodes.length} nodes, ${new Set(lineage.edges.map((e) => `${e.from}\n${e.to}`)).size} links`;
  if (lineage.truncated) {
    note.className = 'note';
    note.textContent += ` — more are in reach: only the nearest ${lineage.nodes.length} are drawn`;
  }
}

// ---- the lineage graph -------------------------------------------------------------------------------

const NODE_WIDTH = 230;
const NODE_HEIGHT = 38;

function drawGraph(container, lineage, roots, current) {
  const g = new dagre.graphlib.Graph();
  const large = lineage.nodes.length > 300;
  g.setGraph({
    rankdir: 'LR',
    nodesep: 10,
    ranksep: 70,
    marginx: 12,
    marginy: 12,
    ...(large ? { ranker: 'longest-path' } : {}),
  });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of lineage.nodes) g.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  const pairs = new Set();
  for (const edge of lineage.edges) {
    const key = `${edge.from}\n${edge.to}`;
    if (pairs.has(key) || edge.from === edge.to || !g.hasNode(edge.from) || !g.hasNode(edge.to)) continue;
    pairs.add(key);
    g.setEdge(edge.from, edge.to);
  }
  dagre.layout(g);
  const { width, height } = g.graph();
  const picture = svg('svg', { width: Math.ceil(width), height: Math.ceil(height), role: 'img' });
  const title = svg('title');
  title.textContent = 'Lineage graph';
  const defs = svg('defs');
  const marker = svg('marker', {
    id: 'arrow',
    viewBox: '0 0 10 10',
    refX: 10,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: 'auto',
  });
  marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow' }));
  defs.append(marker);
  picture.append(title, defs);
  const edges = svg('g', { class: 'edges' });
  for (const e of g.edges()) {
    const points = g.edge(e).points ?? [];
    if (points.length < 2) continue;
    const d = points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    edges.append(svg('path', { d, class: 'edge', 'marker-end': 'url(#arrow)' }));
  }
  const nodes = svg('g', { class: 'nodes' });
  for (const node of lineage.nodes) {
    const at = g.node(node.id);
    const kindClass = /^[a-z_]+$/.test(node.kind) ? ` kind-${node.kind}` : '';
    const other = node.products.find((p) => p !== current);
    const group = svg('g', {
      class: `node${kindClass}${roots.has(node.id) ? ' root' : ''}${other ? ' link' : ''}`,
      transform: `translate(${(at.x - NODE_WIDTH / 2).toFixed(1)},${(at.y - NODE_HEIGHT / 2).toFixed(1)})`,
      'data-id': node.id,
    });
    const tip = svg('title');
    tip.textContent = `${node.id}${node.products.length ? `\nproducts: ${node.products.join(', ')}` : ''}`;
    const label = svg('text', { x: 8, y: 16 });
    label.textContent = clip(node.name, 34);
    const kind = svg('text', { x: 8, y: 30, class: 'kind' });
    kind.textContent = clip(`${node.kind}${node.products.length ? ` · ${node.products.join(', ')}` : ''}`, 44);
    group.append(tip, svg('rect', { width: NODE_WIDTH, height: NODE_HEIGHT, rx: 4 }), label, kind);
    if (other) {
      group.addEventListener('click', () => {
        location.hash = `#/products/${encodeURIComponent(other)}`;
      });
    }
    nodes.append(group);
  }
  picture.append(edges, nodes);
  container.replaceChildren(picture);
  const root = picture.querySelector('.node.root');
  if (root) {
    const box = root.getBBox();
    const matrix = root.transform.baseVal.consolidate()?.matrix;
    container.scrollLeft = Math.max(0, (matrix?.e ?? 0) + box.width / 2 - container.clientWidth / 2);
    container.scrollTop = Math.max(0, (matrix?.f ?? 0) + box.height / 2 - container.clientHeight / 2);
  }
}

// ---- routing -----------------------------------------------------------------------------------------

async function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = hash.split('?');
  const params = new URLSearchParams(query);
  try {
    if (path.startsWith('/products/')) await productView(decodeURIComponent(path.slice('/products/'.length)), params);
    else if (path === '/search' && params.get('q')) await searchView(params.get('q'));
    else await listView();
  } catch (error) {
    failed(error);
  }
  document.body.dataset.ready = location.hash;
}

document.getElementById('search').addEventListener('submit', (event) => {
  event.preventDefault();
  const q = document.getElementById('q').value.trim();
  location.hash = q ? `#/search?q=${encodeURIComponent(q)}` : '#/';
});
window.addEventListener('hashchange', route);
route();
