/**
 * The few DOM helpers every renderer uses. Text from users or the server reaches the page only
 * through textContent and attributes set with setAttribute/dataset, never through innerHTML: a
 * message such as `<img src=x onerror=…>` shows as those characters.
 */
const TOAST_MS = 4_000;

export const $ = (id) => document.getElementById(id);

/** Builds an element; `text` goes through textContent, so user data is never parsed as HTML. */
export function el(tag, { className, text, data, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [key, value] of Object.entries(data ?? {})) node.dataset[key] = String(value);
  for (const [key, value] of Object.entries(attrs ?? {})) node.setAttribute(key, String(value));
  for (const child of children) if (child) node.append(child);
  return node;
}

let toastTimer;
export function toast(message) {
  const node = $('toast');
  node.textContent = message;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    node.hidden = true;
  }, TOAST_MS);
}

/** Says so when a REST call failed because the server cannot be reached; other failures are handled where they happen. */
export function toastIfUnreachable(error) {
  if (error.status === 0) toast(error.message);
}

export const pageVisible = () => document.visibilityState === 'visible';

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatTime(ms) {
  const date = new Date(ms);
  return date.toDateString() === new Date().toDateString() ? timeFormat.format(date) : dateTimeFormat.format(date);
}
