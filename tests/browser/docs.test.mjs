// GET /docs in headless Chromium: the page renders the whole spec (every tag as a visible
// heading, every operation, a curl example per operation) without a console error, and every
// request it makes goes to csrd itself. Screenshot: artifact('docs.png').
import assert from 'node:assert/strict';
import { startCsrd, launch, artifact } from './lib.mjs';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];

async function main() {
  const csrd = await startCsrd();
  let browser;
  try {
    const { base } = csrd;
    const origin = new URL(base).origin;
    const spec = await (await fetch(`${base}/v1/openapi.json`)).json();
    const specOps = Object.values(spec.paths)
      .reduce((n, item) => n + Object.keys(item).filter((m) => METHODS.includes(m)).length, 0);
    const specTags = spec.tags.map((t) => t.name);
    assert.ok(specOps > 40 && specTags.length > 5, 'the spec looks complete');

    const head = await fetch(`${base}/docs`);
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(head.headers.get('content-security-policy') || '', /default-src 'none'.*connect-src 'self'/);

    browser = await launch();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    const requests = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));

    const resp = await page.goto(`${base}/docs`, { waitUntil: 'networkidle' });
    assert.equal(resp.status(), 200);
    await page.waitForSelector('article.op', { timeout: 10000 });

    // every request went to csrd (data: URLs are not requests to anywhere)
    const foreign = requests.filter((u) => !u.startsWith('data:') && new URL(u).origin !== origin);
    assert.deepEqual(foreign, [], 'requests to other origins');
    assert.ok(requests.some((u) => u === `${base}/v1/openapi.json`), 'the page fetched the spec');

    assert.ok((await page.textContent('#title')).includes(spec.info.title), 'info.title is shown');
    assert.ok((await page.textContent('#version')).includes(spec.info.version), 'info.version is shown');

    // every tag is a visible section heading, with its description
    const headings = await page.$$eval('section.tag > h2', (hs) =>
      hs.map((h) => ({ text: h.textContent.trim(), visible: h.checkVisibility() })));
    for (const tag of specTags) {
      const h = headings.find((x) => x.text === tag);
      assert.ok(h, `tag ${tag} has a heading`);
      assert.ok(h.visible, `tag ${tag}'s heading is visible`);
      assert.ok(await page.locator(`#toc > li[data-tag="${tag}"] > a.tag-link`).isVisible(),
        `tag ${tag} is in the navigation`);
    }

    // every operation is rendered, once
    const rendered = await page.$$eval('article.op', (as) => as.map((a) => `${a.dataset.method} ${a.dataset.path}`));
    assert.equal(rendered.length, specOps, 'rendered operations');
    assert.equal(new Set(rendered).size, specOps, 'each operation once');
    assert.equal(await page.getAttribute('#op-count', 'data-count'), String(specOps));
    assert.equal(await page.locator('article.op .curl-code').count(), specOps, 'a curl example per operation');

    // the curl example of POST /v1/customers: token and a JSON body from the required fields
    const curl = await page.textContent('article.op[data-method="post"][data-path="/v1/customers"] .curl-code');
    assert.match(curl, /^curl -X POST "\$CSRD_URL\/v1\/customers"/);
    assert.ok(curl.includes('Authorization: Bearer $CSRD_TOKEN'), curl);
    assert.ok(curl.includes("-H 'Content-Type: application/json'"), curl);
    const body = JSON.parse(/-d '(.*)'$/m.exec(curl)[1]);
    assert.equal(typeof body.kind, 'string');
    assert.equal(typeof body.name, 'string');
    // a public operation has no token; a path parameter becomes a shell variable
    const health = await page.textContent('article.op[data-method="get"][data-path="/healthz"] .curl-code');
    assert.ok(!health.includes('Authorization'), health);
    const one = await page.textContent('article.op[data-method="get"][data-path="/v1/customers/{id}"] .curl-code');
    assert.ok(one.includes('"$CSRD_URL/v1/customers/$ID"'), one);

    // request body fields ($ref and allOf resolved), parameters and responses are shown
    const create = page.locator('article.op[data-method="post"][data-path="/v1/customers"]');
    const fields = await create.locator('td.name').allTextContents();
    for (const f of ['kind', 'name', 'address.city', 'Idempotency-Key', '201', '422']) {
      assert.ok(fields.includes(f), `POST /v1/customers shows ${f}`);
    }
    assert.ok((await create.textContent()).includes('role: agent'), 'the role is shown');

    await page.screenshot({ path: artifact('docs.png'), fullPage: true });

    // the filter narrows the operations (and hides empty tags)
    await page.fill('#filter', 'webhook');
    const visible = await page.$$eval('article.op', (as) => as.filter((a) => !a.hidden).length);
    assert.ok(visible > 0 && visible < specOps, `filter shows ${visible} operations`);
    assert.equal(await page.locator('section.tag[data-tag="customers"]').isVisible(), false);
    await page.fill('#filter', '');

    assert.deepEqual(errors, [], 'console errors, page errors or failed requests');
    console.log(`ok: /docs renders ${specOps} operations in ${specTags.length} tags; ` +
                `${requests.length} requests, all to ${origin}; screenshot ${artifact('docs.png')}`);
  } finally {
    if (browser) await browser.close();
    await csrd.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
