/** Search results (people to chat with or to add to a group) and the group dialog's chips. */
import { $, el } from './dom.js';

function userItem(user, label, testid, onPick) {
  const button = el('button', { attrs: { type: 'button', 'aria-label': `${label} ${user.nickname}` }, data: { testid } }, [
    el('span', { text: user.nickname }),
    el('span', { className: 'email', text: user.email }),
  ]);
  button.addEventListener('click', () => onPick(user));
  return el('li', { data: { testid: 'user-result', userId: user.id } }, [button]);
}

/**
 * Fills a result list: one button a person, labelled `${label} ${nickname}`, calling
 * `onPick(user)`; `emptyText` (if given) when nobody matched.
 */
export function renderUserResults(list, users, { label, testid, onPick, emptyText }) {
  if (!users.length && emptyText) {
    list.replaceChildren(el('li', { className: 'muted', text: emptyText }));
    return;
  }
  list.replaceChildren(...users.map((user) => userItem(user, label, testid, onPick)));
}

/** The people picked for a new group, each with a × calling `onRemove(user)`. */
export function renderGroupChips(users, onRemove) {
  const chips = users.map((user) => {
    const remove = el('button', { text: '×', attrs: { type: 'button', 'aria-label': `Remove ${user.nickname}` } });
    remove.addEventListener('click', () => onRemove(user));
    return el('li', { data: { testid: 'group-chip', userId: user.id } }, [el('span', { text: user.nickname }), remove]);
  });
  $('group-selected').replaceChildren(...chips);
}
