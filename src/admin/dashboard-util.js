// Small helpers shared by the dashboard's traffic modules (served from /assets/, no build step).
// Text only: nothing from the server ever goes through innerHTML.

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = String(value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
  }
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function setText(node, value) {
  const text = value === undefined || value === null ? '' : String(value);
  if (node.textContent !== text) node.textContent = text;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** hh:mm:ss, or hh:mm:ss.mmm with `millis`. */
export function clock(ms, millis = false) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  const d = new Date(ms);
  const base = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return millis ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

/** A duration for people: 12 ms, 1.4 s, 3 min 5 s. */
export function duration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds ? `${minutes} min ${seconds} s` : `${minutes} min`;
}

/** A value on a graph: rates and counts, shares in %, latencies in ms (seconds from 1000 ms). */
export function formatValue(value, unit) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '';
  if (unit === 'ms' && value >= 1000) return `${short(value / 1000)} s`;
  return unit ? `${short(value)} ${unit}` : short(value);
}

const short = (value) =>
  Math.abs(value) >= 10 ? String(Math.round(value)) : String(Number(value.toFixed(Math.abs(value) < 1 ? 2 : 1)));

/**
 * Makes `parent`'s children match `items`, in order, keeping the element of each key (so a
 * redraw every second never replaces the button under the pointer or a focused one).
 */
export function reconcile(parent, items, keyOf, create, update) {
  const existing = new Map();
  for (const child of [...parent.children]) {
    if (existing.has(child.dataset.key)) child.remove();
    else existing.set(child.dataset.key, child);
  }
  let previous = null;
  items.forEach((item, index) => {
    const key = String(keyOf(item, index));
    let node = existing.get(key);
    if (node) existing.delete(key);
    else {
      node = create(item);
      node.dataset.key = key;
    }
    update(node, item);
    const expected = previous ? previous.nextSibling : parent.firstChild;
    if (expected !== node) parent.insertBefore(node, expected);
    previous = node;
  });
  for (const node of existing.values()) node.remove();
}

export function setAttr(node, name, value) {
  if (value === undefined || value === null || value === false) {
    if (node.hasAttribute(name)) node.removeAttribute(name);
  } else if (node.getAttribute(name) !== String(value)) node.setAttribute(name, String(value));
}

/**
 * Adds newer (or refreshed) points to what the page holds (`held`, updated in place): same
 * shape as a /series document, at most `keep` points. Pools and nodes that appear later get
 * nulls for the seconds before; those the gateway no longer reports are dropped.
 */
export function mergeSeries(held, doc, keep = 900) {
  const end = (d) => d.from + d.points * d.step;
  if (!held || doc.from < held.from || doc.from > end(held)) return structuredClone(doc);
  const offset = (doc.from - held.from) / held.step;
  const points = Math.max(held.points, offset + doc.points);
  const absent = (length) => new Array(length).fill(null);
  const mergeEntity = (into, from) => {
    for (const [field, values] of Object.entries(from)) {
      const target = (into[field] ??= absent(held.points));
      values.forEach((value, i) => {
        target[offset + i] = value;
      });
    }
  };
  for (const name of Object.keys(held.pools)) if (!(name in doc.pools)) delete held.pools[name];
  for (const [name, pool] of Object.entries(doc.pools)) {
    const target = (held.pools[name] ??= { pool: {}, nodes: {} });
    mergeEntity(target.pool, pool.pool);
    for (const id of Object.keys(target.nodes)) if (!(id in pool.nodes)) delete target.nodes[id];
    for (const [id, node] of Object.entries(pool.nodes)) mergeEntity((target.nodes[id] ??= {}), node);
  }
  const drop = Math.max(0, points - keep);
  for (const pool of Object.values(held.pools)) {
    for (const entity of [pool.pool, ...Object.values(pool.nodes)]) {
      for (const values of Object.values(entity)) {
        while (values.length < points) values.push(null);
        values.splice(0, drop);
      }
    }
  }
  return { ...held, from: held.from + drop * held.step, points: points - drop };
}
