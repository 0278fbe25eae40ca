/** Finding people: starting a direct chat from the sidebar search, and the "New group" dialog. */
import { createDirectRoom, createGroupRoom, searchUsers } from '../api.js';
import { $, toast } from '../render/dom.js';
import { renderGroupChips, renderUserResults } from '../render/people.js';
import { openRoom } from './conversation.js';
import { refreshRooms } from './rooms.js';

const SEARCH_DEBOUNCE_MS = 250;

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/**
 * A search box (debounced) filling its result list with the people found; an answer for a query
 * the box no longer holds is dropped.
 */
function peopleSearch({ inputId, resultsId, show, onError }) {
  return debounce(async (query) => {
    const results = $(resultsId);
    if (!query) {
      results.replaceChildren();
      return;
    }
    try {
      const users = await searchUsers(query);
      if ($(inputId).value.trim() !== query) return;
      show(results, users);
    } catch (error) {
      onError(error);
    }
  }, SEARCH_DEBOUNCE_MS);
}

// ---- direct chats ------------------------------------------------------------------------------

export const searchPeople = peopleSearch({
  inputId: 'user-search',
  resultsId: 'user-results',
  show: (results, users) =>
    renderUserResults(results, users, {
      label: 'Chat with',
      testid: 'start-direct',
      onPick: (user) => void startDirect(user),
      emptyText: 'Nobody found',
    }),
  onError: (error) => toast(error.message),
});

async function startDirect(user) {
  try {
    const room = await createDirectRoom(user.id);
    $('user-search').value = '';
    $('user-results').replaceChildren();
    await refreshRooms();
    await openRoom(room.roomId);
  } catch (error) {
    toast(`Could not start the chat: ${error.message}`);
  }
}

// ---- groups ------------------------------------------------------------------------------------

/** userId → user picked in the open dialog. */
const picked = new Map();

function renderPicked() {
  renderGroupChips([...picked.values()], (user) => {
    picked.delete(user.id);
    renderPicked();
  });
}

export function openGroupDialog() {
  picked.clear();
  $('group-form').reset();
  $('group-results').replaceChildren();
  $('group-error').textContent = '';
  renderPicked();
  $('group-dialog').showModal();
  $('group-name').focus();
}

export function closeGroupDialog() {
  $('group-dialog').close();
}

export const searchGroupMembers = peopleSearch({
  inputId: 'group-search',
  resultsId: 'group-results',
  show: (results, users) => {
    const pick = (user) => {
      picked.set(user.id, user);
      renderPicked();
    };
    renderUserResults(results, users, { label: 'Add', testid: 'group-add-member', onPick: pick });
  },
  onError: (error) => {
    $('group-error').textContent = error.message;
  },
});

export async function createGroup(event) {
  event.preventDefault();
  const name = $('group-name').value.trim();
  try {
    const room = await createGroupRoom(name, [...picked.keys()]);
    closeGroupDialog();
    await refreshRooms();
    await openRoom(room.roomId);
  } catch (error) {
    $('group-error').textContent = error.message;
  }
}
