// Drives examples/web in headless Chromium against a real csrd on another origin (CORS):
// customers (Chinese, Korean and Latin names: create, search, open), an interaction in the
// timeline, a complaint moved acknowledged → in_progress → resolved with If-Match, the
// follow-up that resolving schedules, completed; a stale If-Match (412) shown and re-read;
// "load more" paging; a 422 shown field by field, a 403 for a viewer; ETag and
// Location readable from JS; and the same page from an origin csrd does not allow, refused.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCsrd, serveStatic, launch, artifact } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/web');
const run = Date.now().toString(36);          // tells this run's records from earlier ones

const allowed = await serveStatic(root);
const foreign = await serveStatic(root);
let csrd;
let browser;
const pageErrors = [];
const consoleErrors = [];

function watch(page, phase) {
  page.on('pageerror', (e) => pageErrors.push(`${phase}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push({ phase, text: m.text() }); });
}

async function settle(page) {
  // every action disables its button while it runs
  await page.waitForFunction(() => !document.querySelector('button:disabled'));
}

const tid = (id) => `[data-testid="${id}"]`;

async function configure(page, base, token) {
  await page.fill(tid('settings-base'), base);
  await page.fill(tid('settings-token'), token);
  await page.click(tid('settings-save'));
  await settle(page);
}

async function createCustomer(page, { kind, name, email, phone }) {
  const before = await page.getAttribute(tid('customer-detail'), 'data-id');
  await page.selectOption(tid('create-kind'), kind);
  await page.fill(tid('create-name'), name);
  await page.fill(tid('create-email'), email || '');
  await page.fill(tid('create-phone'), phone || '');
  await page.click(tid('create-submit'));
  await settle(page);
  assert.equal(await page.isVisible(tid('error')), false,
    `creating ${name}: ${await page.textContent(tid('error'))}`);
  await page.waitForFunction(([n, b]) => {
    const d = document.querySelector('[data-testid="customer-detail"]');
    return !d.hidden && d.dataset.id && d.dataset.id !== b &&
      document.querySelector('[data-testid="detail-name"]').textContent === n;
  }, [name, before]);
  return page.getAttribute(tid('customer-detail'), 'data-id');
}

// Searches q and pages through "load more" until the customer id is listed.
async function searchFinds(page, q, id) {
  await page.fill(tid('search-input'), q);
  await page.click(tid('search-button'));
  await settle(page);
  for (let i = 0; i < 20; i++) {
    if (await page.locator(`${tid('customer-item')}[data-id="${id}"]`).count()) return;
    if (!await page.isVisible(tid('load-more'))) break;
    await page.click(tid('load-more'));
    await settle(page);
  }
  assert.fail(`search ${q} did not list ${id}: ${await page.textContent(tid('customer-list'))}`);
}

async function expectStatus(page, status, etag) {
  await page.waitForFunction(([s]) =>
    document.querySelector('[data-testid="complaint-status"]').textContent === s, [status]);
  if (etag) assert.equal(await page.textContent(tid('complaint-etag')), etag);
}

async function transition(page, to, status, etag) {
  await page.click(tid(`transition-${to}`));
  await settle(page);
  assert.equal(await page.isVisible(tid('error')), false,
    `transition to ${to}: ${await page.textContent(tid('error'))}`);
  await expectStatus(page, status, etag);
}

try {
  csrd = await startCsrd({ CSRD_CORS_ORIGINS: allowed.origin });
  browser = await launch();

  // ------------------------------------------------------------ the allowed origin
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(15000);
  watch(page, 'allowed');
  await page.goto(`${allowed.origin}/index.html`);
  await configure(page, csrd.base, csrd.token);
  assert.equal(await page.isVisible(tid('error')), false, await page.textContent(tid('error')));
  // the token stays in sessionStorage, never in the URL
  assert.ok(!page.url().includes(csrd.token));
  assert.equal(await page.evaluate(() => sessionStorage.getItem('csrd.token')), csrd.token);

  const zhang = await createCustomer(page, { kind: 'person', name: '张伟', email: `zhang.wei.${run}@example.cn`, phone: '+86 138-0013-8000' });
  const kim = await createCustomer(page, { kind: 'person', name: '김민준', email: `minjun.kim.${run}@example.kr` });
  const latin = `Schmidt Logistik ${run}`;
  const org = await createCustomer(page, { kind: 'organization', name: latin, email: `info.${run}@schmidt.example.de` });

  await searchFinds(page, '张伟', zhang);
  await searchFinds(page, '김민준', kim);
  await searchFinds(page, '민준', kim);                   // a two-character fragment
  await searchFinds(page, `schmidt logistik ${run}`, org);  // case-insensitive

  // open 张伟 from the list
  await searchFinds(page, '张伟', zhang);
  await page.click(`${tid('customer-item')}[data-id="${zhang}"] ${tid('customer-open')}`);
  await page.waitForFunction((id) =>
    document.querySelector('[data-testid="customer-detail"]').dataset.id === id, zhang);
  assert.equal(await page.textContent(tid('detail-name')), '张伟');
  assert.equal(await page.textContent(tid('detail-email')), `zhang.wei.${run}@example.cn`);

  // an interaction, then in the timeline
  const subject = `快递查询 parcel question ${run}`;
  await page.selectOption(tid('interaction-channel'), 'phone');
  await page.selectOption(tid('interaction-direction'), 'inbound');
  await page.selectOption(tid('interaction-purpose'), 'support');
  await page.fill(tid('interaction-subject'), subject);
  await page.fill(tid('interaction-score'), '-1');
  await page.click(tid('interaction-submit'));
  await settle(page);
  assert.equal(await page.isVisible(tid('error')), false, await page.textContent(tid('error')));
  await page.locator(`${tid('timeline-item')}[data-type="interaction"]`, { hasText: subject }).waitFor();

  // a complaint through its workflow, each step with the ETag the page last saw
  await page.selectOption(tid('complaint-channel'), 'phone');
  await page.selectOption(tid('complaint-category'), 'delivery');
  await page.selectOption(tid('complaint-severity'), 'high');
  await page.fill(tid('complaint-subject'), `Parcel two weeks late ${run}`);
  await page.fill(tid('complaint-assignee'), 'wang.wei');
  await page.click(tid('complaint-submit'));
  await settle(page);
  assert.equal(await page.isVisible(tid('error')), false, await page.textContent(tid('error')));
  await expectStatus(page, 'new', '"1"');
  assert.match(await page.textContent(tid('complaint-number')), /^CMP-\d+$/);
  await transition(page, 'acknowledged', 'acknowledged', '"2"');
  await transition(page, 'in_progress', 'in_progress', '"3"');
  await page.fill(tid('transition-resolution'), 'refunded the shipping fee');
  await transition(page, 'resolved', 'resolved', '"4"');
  assert.match(await page.textContent(tid('complaint-resolution')), /refunded the shipping fee/);
  const moves = await page.$$eval(`${tid('complaint-event')}[data-type="transition"]`, (l) => l.map((e) => e.textContent));
  assert.equal(moves.length, 3, moves.join(' | '));
  assert.match(moves[2], /in_progress → resolved/);
  await page.locator(`${tid('complaint-event')}[data-type="follow_up_scheduled"]`).waitFor();

  // the follow-up that resolving scheduled: complete it
  const fu = page.locator(`${tid('followup-item')}[data-status="scheduled"]`);
  await fu.waitFor();
  assert.equal(await fu.count(), 1);
  const fuId = await fu.getAttribute('data-id');
  await fu.locator(tid('followup-satisfaction')).selectOption('5');
  await fu.locator(tid('followup-nps')).fill('9');
  await fu.locator(tid('followup-resolved')).check();
  await fu.locator(tid('followup-comment')).fill('很满意 / 매우 만족');
  await fu.locator(tid('followup-complete')).click();
  await settle(page);
  assert.equal(await page.isVisible(tid('error')), false, await page.textContent(tid('error')));
  const done = page.locator(`${tid('followup-item')}[data-id="${fuId}"]`);
  await page.locator(`${tid('followup-item')}[data-id="${fuId}"][data-status="completed"]`).waitFor();
  assert.equal(await done.locator(tid('followup-status')).textContent(), 'completed');
  assert.match(await done.locator(tid('followup-answer')).textContent(), /satisfaction 5, NPS 9, issue resolved yes/);
  // satisfaction 5 with the issue resolved closes the complaint
  await expectStatus(page, 'closed');

  // a stale ETag: the page sends If-Match with the version it saw, csrd answers 412, the page
  // shows it and re-reads the complaint; the retry then succeeds
  await page.fill(tid('complaint-subject'), `Wrong size delivered ${run}`);
  await page.click(tid('complaint-submit'));
  await settle(page);
  await expectStatus(page, 'new', '"1"');
  const second = await page.getAttribute(tid('complaint-detail'), 'data-id');
  const behind = await page.evaluate(async ([base, token, id]) => (await fetch(`${base}/v1/complaints/${id}/transitions`, {
    method: 'POST', body: JSON.stringify({ to: 'acknowledged', note: 'from another desk' }),
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'If-Match': '"1"' } })).status,
  [csrd.base, csrd.token, second]);
  assert.equal(behind, 200);
  await page.click(tid('transition-in_progress'));
  await settle(page);
  await page.locator(tid('error')).waitFor();
  assert.match(await page.textContent(tid('error-title')), /412/);
  await expectStatus(page, 'acknowledged', '"2"');
  await transition(page, 'in_progress', 'in_progress', '"3"');

  // "load more": six customers made through the API, five a page
  const made = await page.evaluate(async ([base, token, run]) => {
    const ids = [];
    for (let i = 0; i < 6; i++) {
      const r = await fetch(`${base}/v1/customers`, { method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ kind: 'organization', name: `Paging ${run} ${i}` }) });
      ids.push((await r.json()).id);
    }
    return ids;
  }, [csrd.base, csrd.token, run]);
  await page.selectOption(tid('search-limit'), '5');
  await page.fill(tid('search-input'), `Paging ${run}`);
  await page.click(tid('search-button'));
  await settle(page);
  assert.equal(await page.locator(tid('customer-item')).count(), 5);
  assert.equal(await page.isVisible(tid('load-more')), true);
  for (let i = 0; i < 10 && await page.isVisible(tid('load-more')); i++) {
    await page.click(tid('load-more'));
    await settle(page);
  }
  const listed = await page.$$eval(tid('customer-item'), (l) => l.map((e) => e.dataset.id));
  assert.equal(new Set(listed).size, listed.length, 'no customer listed twice');
  for (const id of made) assert.ok(listed.includes(id), `paging lists ${id}`);

  // a 422: each field error of the problem is shown
  await page.fill(tid('create-name'), `Bad Email ${run}`);
  await page.fill(tid('create-email'), 'not-an-email');
  await page.click(tid('create-submit'));
  await settle(page);
  await page.locator(tid('error')).waitFor();
  assert.match(await page.textContent(tid('error-title')), /422/);
  const fieldErr = page.locator(`${tid('field-error')}[data-field="email"]`);
  assert.equal(await fieldErr.count(), 1);
  assert.match(await fieldErr.textContent(), /^email: .+/);
  assert.equal(await page.getAttribute(tid('create-email'), 'aria-invalid'), 'true');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: artifact('web.png'), fullPage: true });

  // ETag, Location (and Link) are readable from JS across origins
  const seen = await page.evaluate(async ([base, token, run]) => {
    const h = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    const r = await fetch(`${base}/v1/customers`, { method: 'POST', headers: { ...h, 'Idempotency-Key': `web-${run}` },
      body: JSON.stringify({ kind: 'person', name: `Header Probe ${run}` }) });
    const again = await fetch(`${base}/v1/customers`, { method: 'POST', headers: { ...h, 'Idempotency-Key': `web-${run}` },
      body: JSON.stringify({ kind: 'person', name: `Header Probe ${run}` }) });
    const one = await fetch(new URL(r.headers.get('Location'), base), { headers: h });
    const list = await fetch(`${base}/v1/customers?limit=1`, { headers: h });
    return { status: r.status, etag: r.headers.get('ETag'), location: r.headers.get('Location'),
             replayStatus: again.status, replayLocation: again.headers.get('Location'),
             replayed: again.headers.get('Idempotent-Replayed'),
             getStatus: one.status, getEtag: one.headers.get('ETag'), link: list.headers.get('Link') };
  }, [csrd.base, csrd.token, run]);
  assert.equal(seen.status, 201);
  assert.equal(seen.etag, '"1"');
  assert.match(seen.location, /\/v1\/customers\/[0-9a-f-]{36}$/);
  assert.equal(seen.replayStatus, 201);
  assert.equal(seen.replayLocation, seen.location);
  assert.equal(seen.getStatus, 200);
  assert.equal(seen.getEtag, '"1"');
  assert.match(seen.link || '', /rel="next"/);
  assert.equal(seen.replayed, 'true', 'Idempotent-Replayed must be exposed to cross-origin JS');

  // a 403: a viewer's token reads but may not create
  const viewer = await page.evaluate(async ([base, token, run]) => {
    const r = await fetch(`${base}/v1/api-keys`, { method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: `web test viewer ${run}`, role: 'viewer' }) });
    return r.json();
  }, [csrd.base, csrd.token, run]);
  assert.ok(viewer.token, JSON.stringify(viewer));
  await configure(page, csrd.base, viewer.token);
  assert.equal(await page.isVisible(tid('error')), false, await page.textContent(tid('error')));
  await page.fill(tid('create-name'), `Viewer may not ${run}`);
  await page.click(tid('create-submit'));
  await settle(page);
  await page.locator(tid('error')).waitFor();
  assert.match(await page.textContent(tid('error-title')), /403/);
  assert.ok((await page.textContent(tid('error-detail'))).length > 0);
  const revoked = await page.evaluate(async ([base, token, id]) => (await fetch(`${base}/v1/api-keys/${id}`,
    { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } })).status, [csrd.base, csrd.token, viewer.id]);
  assert.equal(revoked, 204);

  // ------------------------------------------------------------ an origin csrd does not allow
  const other = await browser.newPage({ viewport: { width: 1280, height: 700 } });
  other.setDefaultTimeout(15000);
  watch(other, 'foreign');
  await other.goto(`${foreign.origin}/index.html`);
  await configure(other, csrd.base, csrd.token);
  await other.locator(tid('error')).waitFor();
  assert.equal(await other.textContent(tid('error-title')), 'Network or CORS failure');
  assert.match(await other.textContent(tid('error-detail')), /CSRD_CORS_ORIGINS/);
  assert.equal(await other.locator(tid('customer-item')).count(), 0);
  await other.fill(tid('create-name'), `Must not exist ${run}`);
  await other.click(tid('create-submit'));
  await settle(other);
  assert.equal(await other.textContent(tid('error-title')), 'Network or CORS failure');
  await other.screenshot({ path: artifact('web-cors-refused.png') });
  // the refused create never reached the database (the preflight was refused)
  const probe = await fetch(`${csrd.base}/v1/customers?q=${encodeURIComponent(`Must not exist ${run}`)}`,
    { headers: { Authorization: `Bearer ${csrd.token}` } });
  assert.equal((await probe.json()).data.length, 0);

  // ------------------------------------------------------------ console
  assert.deepEqual(pageErrors, []);
  const unexpected = consoleErrors.filter(({ phase, text }) => phase === 'allowed'
    ? !/Failed to load resource: the server responded with a status of (403|412|422)/.test(text)
    : !/blocked by CORS policy|Failed to load resource: net::ERR_FAILED/.test(text));
  assert.deepEqual(unexpected, []);
  assert.ok(consoleErrors.some(({ phase, text }) => phase === 'foreign' && /CORS policy/.test(text)),
    'the browser reported the CORS refusal');
  console.log(`web: ok (${allowed.origin} allowed, ${foreign.origin} refused; screenshot ${artifact('web.png')})`);
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
  if (csrd) await csrd.stop();
  await allowed.close();
  await foreign.close();
}
