// ui.mjs: puts the timing summary on the page and adds copy buttons.
import { plural, shortUrl } from './format.mjs';

function field(box, name) {
  return box.querySelector(`[data-field="${name}"]`);
}

function setText(box, name, text) {
  const el = field(box, name);
  if (el) el.textContent = String(text);
}

/** Fill a [data-timing] box with a summary from readTiming(). */
export function fillTimingBox(box, timing) {
  if (!box) return;
  if (!timing) {
    setText(box, 'note', 'This browser does not expose the Navigation Timing API.');
    return;
  }
  for (const key of ['protocol', 'earlyHints', 'firstByte', 'domReady', 'load',
    'resources', 'hinted', 'discovered']) {
    setText(box, key, timing[key]);
  }
  setText(box, 'summary', `Show ${plural(timing.resources, 'resource')}`);
  const list = field(box, 'list');
  if (list) {
    list.replaceChildren(...timing.entries.map(({ name, initiator }) => {
      const item = document.createElement('li');
      const kind = document.createElement('span');
      kind.textContent = initiator;
      item.append(`${shortUrl(name)} `, kind);
      return item;
    }));
  }
  box.dataset.state = 'ready';
}

/** Give every <pre data-copy> a button that copies its text. */
export function addCopyButtons(root = document) {
  if (!navigator.clipboard) return; // needs a secure context (h2site is TLS)
  for (const pre of root.querySelectorAll('pre[data-copy]')) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy';
    button.textContent = 'Copy';
    button.addEventListener('click', async () => {
      const text = pre.dataset.copy || pre.textContent.trim();
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = 'Copied';
      } catch {
        button.textContent = 'Press Ctrl+C';
      }
      setTimeout(() => { button.textContent = 'Copy'; }, 2000);
    });
    pre.parentElement.append(button);
  }
}
