// Drives two headless Chromium pages with fake cameras through the demo page (www/):
// a 1:1 WebRTC call relayed by kwmserverd until both sides decode remote video frames, a
// hang-up, then a group join and a chat message. Prints one JSON line; exits 1 on failure.
// The page URL may be http:// or https:// (then WebSockets are wss://).
//   node tests/browser/call.mjs <page url> <chromium> <directory holding node_modules>
import { createRequire } from 'node:module';
import path from 'node:path';

const [, , pageUrl, chromium, modules] = process.argv;
const puppeteer = createRequire(path.join(modules, 'package.json'))('puppeteer-core');

const wait = { timeout: 30000, polling: 200 };
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: [
    '--no-sandbox',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
    // Plain host candidates: the two pages run on the same machine without an mDNS responder.
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    // Over https the server has a self-signed certificate made by the test.
    '--ignore-certificate-errors',
  ],
});
const result = { ok: false };
try {
  const [alice, bob] = [await browser.newPage(), await browser.newPage()];
  for (const page of [alice, bob]) {
    page.on('pageerror', (error) => console.error('page error:', error.message));
    await page.goto(pageUrl);
    result.secure = await page.evaluate(() => window.isSecureContext && location.protocol === 'https:');
  }
  await alice.evaluate(() => window.kwmDemo.connect('alice', ''));
  await bob.evaluate(() => window.kwmDemo.connect('bob', ''));

  await alice.evaluate(() => window.kwmDemo.call('bob'));
  const framesArrive = () => window.kwmDemo.remoteFramesDecoded().then((frames) => frames > 10);
  await alice.waitForFunction(framesArrive, wait);
  await bob.waitForFunction(framesArrive, wait);
  result.aliceFrames = await alice.evaluate(() => window.kwmDemo.remoteFramesDecoded());
  result.bobFrames = await bob.evaluate(() => window.kwmDemo.remoteFramesDecoded());
  result.remoteVideoWidth = await alice.$eval('#remote-video', (video) => video.videoWidth);

  await alice.evaluate(() => window.kwmDemo.hangup());
  await bob.waitForFunction(() => !window.kwmDemo.inCall(), wait);
  result.hungUp = true;

  await alice.evaluate(() => window.kwmDemo.join('demo'));
  await bob.evaluate(() => window.kwmDemo.join('demo'));
  await alice.waitForFunction(() => window.kwmDemo.members().join(',') === 'alice,bob', wait);
  await bob.evaluate(() => window.kwmDemo.sendChat('hello from bob'));
  await alice.waitForFunction(() => window.kwmDemo.chatLines().includes('bob: hello from bob'), wait);
  result.groupMembers = await bob.evaluate(() => window.kwmDemo.members());
  result.ok = result.remoteVideoWidth > 0;
} catch (error) {
  result.error = error.message;
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
