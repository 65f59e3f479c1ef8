// A small front end for csrd: plain ES module, no build step, no dependencies.
// API data only ever reaches the DOM through textContent / createElement.

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- settings (sessionStorage)

const settings = {
  get base() { return (sessionStorage.getItem('csrd.base') || '').replace(/\/+$/, ''); },
  get token() { return sessionStorage.getItem('csrd.token') || ''; },
  save(base, token) {
    sessionStorage.setItem('csrd.base', base.trim().replace(/\/+$/, ''));
    sessionStorage.setItem('csrd.token', token.trim());
  },
};

// ---------------------------------------------------------------- the API client

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export class NetworkError extends Error {}

function randomKey() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// An Idempotency-Key per form: reused while the same body is retried (a lost answer is then
// replayed instead of creating a second record), a new one once the body changes or succeeded.
const idemKeys = new Map();
function idemKey(slot, body) {
  const held = idemKeys.get(slot);
  if (held && held.body === body) return held.key;
  const key = randomKey();
  idemKeys.set(slot, { key, body });
  return key;
}

// api('GET', '/v1/customers', {query}) → {status, data, etag, location}
// Throws ApiError (an answer that is not 2xx, with its problem) or NetworkError.
async function api(method, path, { query, body, ifMatch, idem } = {}) {
  if (!settings.base || !settings.token) {
    throw new ApiError(0, { title: 'Not configured', detail: 'Enter the csrd server URL and an API token first.' });
  }
  const url = new URL(settings.base + path);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const headers = { Authorization: `Bearer ${settings.token}`, Accept: 'application/json' };
  let payload;
  if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  if (ifMatch) headers['If-Match'] = ifMatch;
  if (idem) headers['Idempotency-Key'] = idemKey(idem, `${method} ${url} ${payload || ''}`);
  let res;
  try {
    res = await fetch(url, { method, headers, body: payload, mode: 'cors', credentials: 'omit', cache: 'no-store' });
  } catch (e) {
    throw new NetworkError(
      `Could not reach ${url.origin}: the server is down, or the browser refused the answer ` +
      `because csrd does not allow this page's origin (${location.origin}) in CSRD_CORS_ORIGINS. ` +
      `(${e.message})`);
  }
  const type = res.headers.get('Content-Type') || '';
  let data = null;
  if (res.status !== 204 && res.status !== 304) {
    const text = await res.text();
    if (type.includes('json') && text) {
      try { data = JSON.parse(text); } catch { data = null; }
    } else if (text) {
      data = { title: res.statusText, detail: text.slice(0, 500) };
    }
  }
  if (!res.ok) {
    throw new ApiError(res.status, data && typeof data === 'object' ? data
      : { title: res.statusText || `HTTP ${res.status}`, detail: '' });
  }
  if (idem) idemKeys.delete(idem);
  return { status: res.status, data, etag: res.headers.get('ETag'), location: res.headers.get('Location') };
}

// ---------------------------------------------------------------- messages

function clearError() {
  $('error').hidden = true;
  for (const el of document.querySelectorAll('[aria-invalid="true"]')) el.removeAttribute('aria-invalid');
  for (const el of document.querySelectorAll('.field-error')) el.remove();
}

function notice(text) {
  const n = $('notice');
  n.textContent = text;
  n.hidden = !text;
}

// Shows any failure; form (optional) gets its bad fields marked.
function showError(err, form) {
  clearError();
  notice('');
  const fields = $('error-fields');
  fields.replaceChildren();
  $('error-request-id').textContent = '';
  if (err instanceof ApiError) {
    const p = err.problem || {};
    $('error-title').textContent = `${p.title || 'Error'}${err.status ? ` (${err.status})` : ''}`;
    $('error-detail').textContent = p.detail || '';
    if (p.request_id) $('error-request-id').textContent = `request id ${p.request_id}`;
    for (const fe of Array.isArray(p.errors) ? p.errors : []) {
      const li = document.createElement('li');
      li.dataset.testid = 'field-error';
      li.dataset.field = fe.field;
      const f = document.createElement('code');
      f.textContent = fe.field;
      li.append(f, `: ${fe.message}`);
      fields.append(li);
      const input = form && form.elements[fe.field];
      if (input && input.after) {
        input.setAttribute('aria-invalid', 'true');
        const msg = document.createElement('span');
        msg.className = 'field-error';
        msg.dataset.testid = `field-error-${fe.field}`;
        msg.textContent = fe.message;
        input.after(msg);
      }
    }
  } else if (err instanceof NetworkError) {
    $('error-title').textContent = 'Network or CORS failure';
    $('error-detail').textContent = err.message;
  } else {
    $('error-title').textContent = 'Unexpected error';
    $('error-detail').textContent = String(err && err.message ? err.message : err);
  }
  $('error').hidden = false;
}

// Runs an action for a form or button: disables it meanwhile, shows any failure.
async function run(fn, { form, button } = {}) {
  const b = button || (form && form.querySelector('button[type=submit]'));
  if (b) b.disabled = true;
  try {
    clearError();
    return await fn();
  } catch (e) {
    showError(e, form);
    return undefined;
  } finally {
    if (b) b.disabled = false;
  }
}

// ---------------------------------------------------------------- small DOM helpers

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'testid') e.dataset.testid = v;
    else if (k === 'data') Object.assign(e.dataset, v);
    else if (k === 'on') for (const [ev, f] of Object.entries(v)) e.addEventListener(ev, f);
    else e[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

const when = (ts) => (ts ? new Date(ts).toLocaleString() : '');

// Reads a form into an object: empty strings are left out, numbers parsed where asked.
function formData(form, numbers = []) {
  const out = {};
  for (const [k, v] of new FormData(form)) {
    const s = String(v).trim();
    if (s === '') continue;
    out[k] = numbers.includes(k) ? Number(s) : s;
  }
  return out;
}

// A cursor-paginated list: reset(path, query) loads the first page, more() the next.
class Pager {
  constructor(list, button, render, empty) {
    Object.assign(this, { list, button, render, empty, cursor: null, seq: 0 });
    button.addEventListener('click', () => run(() => this.more(), { button }));
  }
  async reset(path, query = {}) {
    Object.assign(this, { path, query, cursor: null });
    const seq = ++this.seq;
    const page = await api('GET', path, { query });
    if (seq !== this.seq) return;   // a newer reset won
    this.list.replaceChildren();
    this.take(page.data);
  }
  async more() {
    if (!this.cursor) return;
    const seq = this.seq;
    const page = await api('GET', this.path, { query: { ...this.query, cursor: this.cursor } });
    if (seq !== this.seq) return;
    this.take(page.data);
  }
  take(data) {
    for (const item of data.data) this.list.append(this.render(item));
    this.cursor = data.next_cursor;
    this.button.hidden = !this.cursor;
    if (this.empty) this.empty.hidden = this.list.children.length > 0;
  }
}

// ---------------------------------------------------------------- customers

const customers = new Pager($('customer-list'), $('customer-more'), (c) =>
  el('li', { testid: 'customer-item', data: { id: c.id } },
    el('button', { type: 'button', className: 'link', testid: 'customer-open',
                   on: { click: () => run(() => openCustomer(c.id)) } }, c.name),
    el('span', { className: 'muted' }, ` ${c.kind}`),
    c.email ? el('span', { className: 'muted', testid: 'customer-email' }, ` · ${c.email}`) : null,
    c.phone ? el('span', { className: 'muted' }, ` · ${c.phone}`) : null),
  $('customer-empty'));

function search(q) {
  return customers.reset('/v1/customers', { q: q || undefined, limit: $('search-form').elements.limit.value });
}

$('search-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  run(() => search(ev.target.elements.q.value.trim()), { form: ev.target });
});

$('create-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const form = ev.target;
  run(async () => {
    const body = formData(form);
    const r = await api('POST', '/v1/customers', { body, idem: 'create-customer' });
    form.reset();
    notice(`Created ${r.data.name} (${r.location || r.data.id}).`);
    await openCustomer(r.data.id, r);
  }, { form });
});

// ---------------------------------------------------------------- one customer

let current = null;              // the open customer's id
let complaint = null;            // { data, etag } of the open complaint

const timeline = new Pager($('timeline'), $('timeline-more'), (t) =>
  el('li', { testid: 'timeline-item', data: { type: t.type, id: t.id } },
    el('time', { dateTime: t.at }, when(t.at)),
    el('span', { className: `tag ${t.type}` }, t.type.replace('_', ' ')),
    el('span', { testid: 'timeline-summary' }, t.summary)));

async function openCustomer(id, created) {
  const r = created || await api('GET', `/v1/customers/${encodeURIComponent(id)}`);
  const c = r.data;
  current = c.id;
  complaint = null;
  $('complaint').hidden = true;
  $('customer').hidden = false;
  $('customer').dataset.id = c.id;
  $('detail-name').textContent = c.name;
  $('detail-kind').textContent = ` ${c.kind}`;
  const dl = $('detail-fields');
  dl.replaceChildren();
  for (const [label, value] of [['Email', c.email], ['Phone', c.phone], ['Tier', c.tier],
    ['Status', c.status], ['Created', when(c.created_at)], ['Version', c.version]]) {
    dl.append(el('dt', {}, label), el('dd', { testid: `detail-${label.toLowerCase()}` }, value ?? '—'));
  }
  await Promise.all([refreshTimeline(), refreshComplaints(), refreshFollowUps()]);
  $('customer').scrollIntoView({ block: 'start', behavior: 'instant' });
}

const refreshTimeline = () => timeline.reset(`/v1/customers/${current}/timeline`, { limit: 50 });

$('interaction-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const form = ev.target;
  run(async () => {
    const body = { customer_id: current, ...formData(form, ['experience_score']) };
    await api('POST', '/v1/interactions', { body, idem: 'create-interaction' });
    form.reset();
    notice('Interaction logged.');
    await refreshTimeline();
  }, { form });
});

// ---------------------------------------------------------------- complaints

// The workflow of the spec (POST /v1/complaints/{id}/transitions); the server decides, this
// only offers the buttons. Rejecting, closing and reopening rejected/closed ones need a supervisor.
const MOVES = {
  new: ['acknowledged', 'in_progress', 'rejected'],
  acknowledged: ['in_progress', 'rejected'],
  in_progress: ['resolved', 'rejected'],
  resolved: ['closed', 'in_progress'],
  rejected: ['in_progress', 'closed'],
  closed: ['in_progress'],
};

async function refreshComplaints() {
  const page = await api('GET', `/v1/customers/${current}/complaints`, { query: { limit: 50 } });
  const list = $('complaint-list');
  list.replaceChildren();
  for (const k of page.data.data) {
    list.append(el('li', { testid: 'complaint-item', data: { id: k.id, status: k.status } },
      el('button', { type: 'button', className: 'link', testid: 'complaint-open',
                     on: { click: () => run(() => openComplaint(k.id)) } }, k.number),
      ` ${k.subject} `,
      el('span', { className: `badge ${k.status}`, testid: 'complaint-item-status' }, k.status)));
  }
}

async function openComplaint(id, r) {
  r = r || await api('GET', `/v1/complaints/${encodeURIComponent(id)}`);
  showComplaint(r);
  await refreshEvents();
}

function showComplaint(r) {
  const k = r.data;
  complaint = { data: k, etag: r.etag || `"${k.version}"` };
  const box = $('complaint');
  box.hidden = false;
  box.dataset.id = k.id;
  $('complaint-number').textContent = k.number;
  $('complaint-subject').textContent = ` ${k.subject}`;
  const st = $('complaint-status');
  st.textContent = k.status;
  st.className = `badge ${k.status}`;
  $('complaint-etag').textContent = complaint.etag;
  $('complaint-sla').textContent =
    ` · first response ${k.sla.first_response}, resolution ${k.sla.resolution}` +
    ` (due ${when(k.resolution_due_at)})`;
  $('complaint-resolution').textContent = k.resolution ? `Resolution: ${k.resolution}` : '';
  const buttons = $('transition-buttons');
  buttons.replaceChildren();
  for (const to of MOVES[k.status] || []) {
    buttons.append(el('button', { type: 'button', value: to, testid: `transition-${to}`,
                                   on: { click: (ev) => transition(to, ev.currentTarget) } },
      to === 'in_progress' && k.status !== 'new' && k.status !== 'acknowledged' ? 'reopen' : to.replace('_', ' ')));
  }
}

async function refreshEvents() {
  const page = await api('GET', `/v1/complaints/${complaint.data.id}/events`, { query: { limit: 100 } });
  const list = $('complaint-events');
  list.replaceChildren();
  for (const e of page.data.data) {
    const what = e.type === 'updated' && e.changes ? `updated ${Object.keys(e.changes).join(', ')}`
      : e.from || e.to ? `${e.type} ${e.from ?? ''} → ${e.to ?? ''}` : e.type;
    list.append(el('li', { testid: 'complaint-event', data: { type: e.type } },
      el('time', { dateTime: e.at }, when(e.at)), ` ${what}`,
      e.note ? el('span', { className: 'muted' }, ` — ${e.note}`) : null,
      el('span', { className: 'muted' }, ` (${e.actor}, ${e.actor_role})`)));
  }
}

function transition(to, button) {
  const form = $('transition-form');
  run(async () => {
    const body = { to };
    const { note, resolution } = formData(form);
    if (note) body.note = note;
    if (to === 'resolved' && resolution) body.resolution = resolution;
    let r;
    try {
      r = await api('POST', `/v1/complaints/${complaint.data.id}/transitions`,
        { body, ifMatch: complaint.etag, idem: 'transition' });
    } catch (e) {
      // Someone else changed it: show the current state, keep the error on screen.
      if (e instanceof ApiError && e.status === 412) {
        await openComplaint(complaint.data.id).catch(() => {});
      }
      throw e;
    }
    form.reset();
    showComplaint(r);
    notice(`${r.data.number} is now ${r.data.status}.`);
    await Promise.all([refreshEvents(), refreshComplaints(), refreshTimeline(), refreshFollowUps()]);
  }, { form, button });
}

$('transition-form').addEventListener('submit', (ev) => ev.preventDefault());

$('complaint-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const form = ev.target;
  run(async () => {
    const body = { customer_id: current, ...formData(form) };
    const r = await api('POST', '/v1/complaints', { body, idem: 'create-complaint' });
    form.reset();
    notice(`Complaint ${r.data.number} filed.`);
    await Promise.all([openComplaint(r.data.id, r), refreshComplaints(), refreshTimeline()]);
  }, { form });
});

// ---------------------------------------------------------------- follow-ups

async function refreshFollowUps() {
  const page = await api('GET', `/v1/customers/${current}/follow-ups`, { query: { limit: 50 } });
  const list = $('followup-list');
  list.replaceChildren();
  for (const f of page.data.data) list.append(renderFollowUp(f));
  $('followup-empty').hidden = list.children.length > 0;
}

function renderFollowUp(f) {
  const li = el('li', { testid: 'followup-item', data: { id: f.id, status: f.status } },
    el('span', { className: `badge ${f.status}`, testid: 'followup-status' }, f.status),
    ` ${f.purpose.replace('_', ' ')} by ${f.method}, `,
    el('time', { dateTime: f.scheduled_at }, when(f.scheduled_at)),
    f.overdue ? el('span', { className: 'badge overdue' }, 'overdue') : null,
    f.assignee ? el('span', { className: 'muted' }, ` · ${f.assignee}`) : null);
  if (f.status === 'completed') {
    li.append(el('div', { className: 'muted', testid: 'followup-answer' },
      `satisfaction ${f.satisfaction ?? '—'}, NPS ${f.nps ?? '—'}, ` +
      `issue resolved ${f.issue_resolved === null ? '—' : f.issue_resolved ? 'yes' : 'no'}` +
      (f.comment ? `: “${f.comment}”` : '') + ` (${when(f.completed_at)})`));
  }
  if (f.status === 'scheduled') {
    const form = $('followup-form-template').content.firstElementChild.cloneNode(true);
    const etag = `"${f.version}"`;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const d = formData(form, ['satisfaction', 'nps']);
      const body = { ...d, issue_resolved: form.elements.issue_resolved.checked };
      if (!f.complaint_id && !form.elements.issue_resolved.checked) delete body.issue_resolved;
      completeFollowUp(f, etag, body, form);
    });
    form.querySelector('[data-testid=followup-no-response]').addEventListener('click', () => {
      const { comment } = formData(form);
      completeFollowUp(f, etag, comment ? { outcome: 'no_response', comment } : { outcome: 'no_response' }, form);
    });
    li.append(form);
  }
  return li;
}

function completeFollowUp(f, etag, body, form) {
  run(async () => {
    await api('POST', `/v1/follow-ups/${f.id}/completion`, { body, ifMatch: etag, idem: `follow-up-${f.id}` });
    notice('Follow-up recorded.');
    const tasks = [refreshFollowUps(), refreshTimeline(), refreshComplaints()];
    if (complaint && complaint.data.id === f.complaint_id) tasks.push(openComplaint(f.complaint_id));
    await Promise.all(tasks);
  }, { form });
}

// ---------------------------------------------------------------- start

$('settings-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  settings.save(f.base.value, f.token.value);
  $('settings-status').textContent = `Using ${settings.base}`;
  run(() => search(''), { form: ev.target });
});

$('error-close').addEventListener('click', clearError);

{
  const f = $('settings-form').elements;
  f.base.value = settings.base;
  f.token.value = settings.token;
  if (settings.base && settings.token) {
    $('settings-status').textContent = `Using ${settings.base}`;
    run(() => search(''));
  }
}
