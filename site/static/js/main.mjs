// main.mjs: entry module of the h2site demo site.
// Module graph: main.mjs -> lib/timing.mjs -> lib/format.mjs
//                        -> lib/ui.mjs     -> lib/format.mjs
import { readTiming } from './lib/timing.mjs';
import { addCopyButtons, fillTimingBox } from './lib/ui.mjs';

const box = document.querySelector('[data-timing]');
if (box) {
  const update = () => fillTimingBox(box, readTiming());
  update();
  if (document.readyState !== 'complete') {
    // loadEventEnd is only set once the load handlers have run
    addEventListener('load', () => setTimeout(update, 0), { once: true });
  }
}

addCopyButtons();
