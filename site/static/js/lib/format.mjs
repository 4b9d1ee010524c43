// format.mjs: small formatting helpers shared by timing.mjs and ui.mjs.
// Third link of the demo's module chain: main.mjs -> timing.mjs -> format.mjs.

const PROTOCOLS = {
  h2: 'HTTP/2',
  h3: 'HTTP/3',
  'http/1.1': 'HTTP/1.1',
  'http/1.0': 'HTTP/1.0',
};

/** Human name of an ALPN protocol id such as "h2". */
export function protocolLabel(id) {
  if (!id) return 'not reported';
  return PROTOCOLS[id.toLowerCase()] ?? id;
}

/** Milliseconds, rounded to what a person can tell apart. */
export function ms(value) {
  if (!Number.isFinite(value) || value < 0) return '—';
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

/** "1 resource", "3 resources". */
export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

/** A URL shortened to its path when it is on this origin. */
export function shortUrl(url, base = globalThis.location?.href) {
  try {
    const u = new URL(url, base);
    return base && u.origin === new URL(base).origin ? u.pathname + u.search : u.href;
  } catch {
    return String(url);
  }
}
