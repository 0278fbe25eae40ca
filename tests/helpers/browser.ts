import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page, type WebSocketRoute } from 'playwright-core';
import { waitFor } from './wait.js';

/**
 * Headless Chromium from Debian (`apt-get install chromium`), driven by playwright-core: the
 * Playwright browser download is not reachable here. CHROMIUM_PATH points elsewhere if needed.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

export const SCREENSHOT_DIR = join('test-results', 'screenshots');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/** A browser window with what a test wants to know about it besides the DOM. */
export interface ChatWindow {
  context: BrowserContext;
  page: Page;
  /** Every alert/confirm/prompt the page opened: an injected script would show up here. */
  dialogs: string[];
  /** Uncaught exceptions in the page. */
  pageErrors: string[];
  /** Set while the window's WebSocket to the server is cut (see `cutWebSocket`). */
  network: WebSocketControl;
}

/**
 * Every WebSocket of the window goes through Playwright's WebSocket route, so a test can cut it
 * from outside the page, like a dropped network, and keep new connections from getting through.
 */
export interface WebSocketControl {
  /** Connections opened so far. */
  readonly opened: number;
  /** Closes the live connection and refuses new ones until `restore`. */
  cut(): Promise<void>;
  restore(): void;
}

/** A fresh context (its own sessionStorage, like a separate person) with the app loaded. */
export async function openChatWindow(browser: Browser, baseUrl: string): Promise<ChatWindow> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  let blocked = false;
  let opened = 0;
  const live = new Set<{ page: WebSocketRoute; server: WebSocketRoute }>();
  await context.routeWebSocket(/\/ws$/, (route) => {
    if (blocked) {
      void route.close({ code: 1006, reason: 'network down (test)' }).catch(() => {});
      return;
    }
    opened += 1;
    const pair = { page: route, server: route.connectToServer() };
    live.add(pair);
    // Handling a close turns off Playwright's own forwarding of it, so each side passes it on.
    route.onClose((code, reason) => {
      live.delete(pair);
      void pair.server.close({ code, reason }).catch(() => {});
    });
    pair.server.onClose((code, reason) => {
      live.delete(pair);
      void route.close({ code, reason }).catch(() => {});
    });
  });
  const network: WebSocketControl = {
    get opened() {
      return opened;
    },
    async cut() {
      blocked = true;
      await Promise.all(
        [...live].map(async (pair) => {
          live.delete(pair);
          await pair.server.close({ code: 1000, reason: 'network down (test)' }).catch(() => {});
          await pair.page.close({ code: 1006, reason: 'network down (test)' }).catch(() => {});
        }),
      );
    },
    restore() {
      blocked = false;
    },
  };
  const page = await context.newPage();
  page.on('dialog', (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss().catch(() => {});
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(baseUrl);
  return { context, page, dialogs, pageErrors, network };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Polls a locator's text; Playwright's own `expect` lives in @playwright/test, which is not used here. */
export async function waitForText(locator: Locator, expected: string | RegExp, what?: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    async () => {
      const text = (await locator.textContent({ timeout: 1_000 }).catch(() => null)) ?? '';
      return typeof expected === 'string' ? text === expected : expected.test(text);
    },
    { timeoutMs, intervalMs: 50, what: what ?? `text ${expected}` },
  );
}

export async function waitForAttribute(locator: Locator, name: string, expected: string, what?: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => (await locator.getAttribute(name, { timeout: 1_000 }).catch(() => null)) === expected, {
    timeoutMs,
    intervalMs: 50,
    what: what ?? `${name}=${expected}`,
  });
}

// ---- driving the chat page (public/js/); selectors are its data-testid attributes -------------

export interface BrowserUser {
  email: string;
  nickname: string;
  password: string;
}

export async function signUpInBrowser(window: ChatWindow, user: BrowserUser): Promise<void> {
  const { page } = window;
  await page.getByTestId('show-signup').click();
  await page.getByTestId('signup-email').fill(user.email);
  await page.getByTestId('signup-nickname').fill(user.nickname);
  await page.getByTestId('signup-password').fill(user.password);
  await page.getByTestId('signup-submit').click();
  await waitConnected(page);
}

export async function logInInBrowser(window: ChatWindow, user: { email: string; password: string }): Promise<void> {
  const { page } = window;
  await page.getByTestId('login-email').fill(user.email);
  await page.getByTestId('login-password').fill(user.password);
  await page.getByTestId('login-submit').click();
  await waitConnected(page);
}

export async function waitConnected(page: Page, timeoutMs = 20_000): Promise<void> {
  await waitForAttribute(page.getByTestId('connection-status'), 'data-state', 'connected', 'the page to connect over STOMP', timeoutMs);
}

/** The room list row whose name is exactly `name`. */
export function roomItem(page: Page, name: string): Locator {
  return page.getByTestId('room-item').filter({ has: page.getByTestId('room-name').getByText(name, { exact: true }) });
}

export async function openRoomByName(page: Page, name: string, timeoutMs = 15_000): Promise<void> {
  await roomItem(page, name).click({ timeout: timeoutMs });
  await waitForText(page.getByTestId('room-title'), name, `room ${name} to open`);
}

export async function sendFromBrowser(page: Page, text: string): Promise<void> {
  const input = page.getByTestId('message-input');
  await input.fill(text);
  await input.press('Enter');
}

/** The texts of the open room's messages, top to bottom. */
export function messageTexts(page: Page): Promise<string[]> {
  return page.getByTestId('message-list').getByTestId('message-text').allTextContents();
}

export async function waitForMessages(page: Page, expected: string[], what: string, timeoutMs = 15_000): Promise<void> {
  let last: string[] = [];
  try {
    await waitFor(
      async () => {
        last = await messageTexts(page);
        return JSON.stringify(last) === JSON.stringify(expected);
      },
      { timeoutMs, intervalMs: 100, what },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; the page shows ${JSON.stringify(last)}`, { cause: error });
  }
}

/** The token the page keeps in sessionStorage, for checking what the server holds for that user. */
export async function tokenOf(page: Page): Promise<string> {
  return page.evaluate(() => (JSON.parse(sessionStorage.getItem('chat.session') ?? '{}') as { token: string }).token);
}
