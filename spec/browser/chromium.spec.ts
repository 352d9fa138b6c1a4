/**
 * The proof in a real browser: the article reader (examples/browser) in headless Chromium, talking
 * through the relay to the emulator. The page is the browser build bundled by esbuild, its socket the
 * browser's own WebSocket, its audio Web Audio; the spec only clicks and reads what the page, the
 * relay and the emulator report.
 *
 * One browser for the file, a fresh reader server (emulator, relay, page) and browser context per test.
 * The screenshot of the page after reading goes to `$SCREENSHOT_DIR/reader.png`, by default
 * `<os tmpdir>/rx-sis-tts-browser/reader.png`.
 */
import { expect } from 'chai';
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startReaderServer, type ReaderServer } from '../../examples/browser/server.js';
import type { OfflineRender, PageGlobals } from '../../examples/browser/page-types.js';
import { launchChromium } from '../helpers/chromium.js';
import { eventually } from '../helpers/eventually.js';

const SCREENSHOT = join(process.env['SCREENSHOT_DIR'] ?? join(tmpdir(), 'rx-sis-tts-browser'), 'reader.png');
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Status lines the page ends a reading with (`playing …` and `connecting…` are on the way). */
const FINAL_STATUS = /^(done|stopped|refused|failed|signed out)/;

describe('the article reader in Chromium (page ⇄ relay ⇄ SIS emulator)', function () {
  this.timeout(30_000);
  let browser: Browser | undefined;
  let reader: ReaderServer;
  let context: BrowserContext;
  let page: Page;
  let pageErrors: string[];

  before(async function () {
    this.timeout(60_000);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  beforeEach(async () => {
    if (browser === undefined) throw new Error('Chromium did not start');
    reader = await startReaderServer();
    context = await browser.newContext();
    page = await context.newPage();
    pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(`${error.name}: ${error.message}`));
    await page.goto(reader.url);
    await page.locator('#status', { hasText: 'ready' }).waitFor();
  });
  afterEach(async () => {
    await context.close();
    await reader.close();
    expect(pageErrors, 'uncaught errors in the page').to.deep.equal([]);
  });

  const status = async (): Promise<string> => (await page.locator('#status').textContent()) ?? '';
  /** The status line once the reading is over, whichever way. */
  const finalStatus = async (): Promise<string> => {
    await page.locator('#status', { hasText: FINAL_STATUS }).waitFor({ timeout: 25_000 });
    return status();
  };
  /** Seconds of 16-bit audio at 16 kHz, as the page prints them. */
  const secondsOf = (audioBytes: number): string => (audioBytes / 2 / 16_000).toFixed(1);

  it('reads the article aloud: one session through the relay, completed, its trace id shown', async () => {
    await page.click('#read');
    const final = await finalStatus();

    const [session, ...more] = reader.emulator.sessions;
    expect(more, 'sessions after the first').to.deep.equal([]);
    expect(session?.ending).to.equal('end-normal');
    expect(final).to.equal(`done — ${secondsOf(session?.audioBytes ?? 0)} s read aloud`);
    expect(await page.locator('#trace').textContent()).to.equal(session?.traceId);
    expect(reader.emulator.stats.sessionsCompleted).to.equal(1);
    expect(reader.relay.stats()).to.deep.include({ accepted: 1, upstreamFailures: 0, refused: { unauthorized: 0, forbidden: 0, limited: 0, invalid: 0 } });
  });

  it('plays exactly the received audio through the Web Audio graph (rendered offline)', async () => {
    // Characters only (no pauses): the emulator's tones then fill the whole audio.
    const text = '语音合成让阅读变得轻松';
    const rendered: OfflineRender | undefined = await page.evaluate((spoken) => (globalThis as unknown as PageGlobals).readerTest?.renderOffline(spoken), text);
    const session = reader.emulator.sessions[0];
    const expectedSamples = (session?.audioBytes ?? 0) / 2;

    expect(expectedSamples, '200 ms a character at 16 kHz').to.equal(text.length * 3200);
    expect(rendered).to.deep.include({
      expectedSamples,
      renderedSamples: expectedSamples,
      outputSamples: expectedSamples + 4000,
      // Every sample of the output is the received one (then silence): none lost, shifted or added.
      matchingSamples: expectedSamples + 4000,
    });
    expect(rendered?.traceId).to.be.a('string').and.equal(session?.traceId);
    expect(rendered?.nonSilentSamples).to.be.above(0.9 * expectedSamples);
  });

  it('stops mid-stream on Stop, and both of the relay’s sockets close', async () => {
    await page.fill('#article', Array.from({ length: 4 }, () => '欢迎收听今天的文章。语音合成让阅读变得轻松。').join('\n'));
    await page.click('#read');
    await page.locator('#status', { hasText: /^playing/ }).waitFor();
    await page.click('#stop');
    expect(await status()).to.equal('stopped');

    await eventually('closed on both sides of the relay', () => reader.relay.stats().sessions === 0 && reader.emulator.openConnections() === 0);
    expect(reader.relay.stats().accepted).to.equal(1);
    expect(reader.emulator.sessions.map((session) => session.ending)).to.deep.equal(['client-closed']);
    expect(reader.emulator.stats.sessionsCompleted).to.equal(0);
    expect(await status(), 'nothing played on after Stop').to.equal('stopped');
  });

  it('is refused after Sign out: the relay answers 401 and never reaches SIS', async () => {
    await page.click('#sign-out');
    await page.locator('#status', { hasText: /^signed out/ }).waitFor();
    await page.click('#read');

    expect(await finalStatus()).to.match(/^refused — signed out/);
    expect(reader.relay.stats()).to.deep.include({ accepted: 0, refused: { unauthorized: 1, forbidden: 0, limited: 0, invalid: 0 } });
    expect(reader.emulator.stats.connections).to.equal(0);
  });

  it('leaves a screenshot of the page after reading the article (a PNG)', async () => {
    await page.click('#read');
    expect(await finalStatus()).to.match(/^done/);
    await mkdir(join(SCREENSHOT, '..'), { recursive: true });
    await page.setViewportSize({ width: 800, height: 460 });
    await page.screenshot({ path: SCREENSHOT });

    expect([...(await readFile(SCREENSHOT)).subarray(0, 8)]).to.deep.equal(PNG_SIGNATURE);
  });
});
