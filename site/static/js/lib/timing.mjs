// timing.mjs: reads the Navigation and Resource Timing entries of this page.
import { ms, protocolLabel } from './format.mjs';

// Initiator types of fetches that a <link> element, a Link header or a
// 103 Early Hints response started, rather than the parser finding a reference
// in HTML, CSS or a module. A <link rel="stylesheet"> counts as "link" too:
// the split is a rough guide, not a verdict.
const HINTED = new Set(['link', 'other', 'early-hints']);

function earlyHints(nav) {
  if (!nav || !('firstInterimResponseStart' in nav)) return 'not reported';
  const at = nav.firstInterimResponseStart;
  return at > 0 ? `at ${ms(at)}` : 'none';
}

/**
 * A summary of how this page was loaded, ready for display, or null when
 * the browser has no Performance Timeline.
 */
export function readTiming(perf = globalThis.performance) {
  if (!perf || typeof perf.getEntriesByType !== 'function') return null;
  const nav = perf.getEntriesByType('navigation')[0];
  const resources = perf.getEntriesByType('resource');
  const hinted = resources.filter((r) => HINTED.has(r.initiatorType)).length;
  const pending = 'waiting…';
  return {
    protocol: protocolLabel(nav?.nextHopProtocol),
    earlyHints: earlyHints(nav),
    firstByte: nav ? ms(nav.responseStart - nav.startTime) : '—',
    domReady: nav?.domContentLoadedEventEnd > 0 ? ms(nav.domContentLoadedEventEnd) : pending,
    load: nav?.loadEventEnd > 0 ? ms(nav.loadEventEnd) : pending,
    resources: resources.length,
    hinted,
    discovered: resources.length - hinted,
    entries: resources.map((r) => ({ name: r.name, initiator: r.initiatorType || 'unknown' })),
  };
}
