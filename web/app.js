/* app.js: the coordinator's page, one plain script over the node's JSON API (docs/api.md).
 *
 * Routes live in the URL's hash (#/, #/record/ID, #/new/case, #/edit/ID, #/events, #/regions,
 * #/network, #/national). Every text from a record goes into the page through textContent, never as
 * HTML, so a record cannot inject markup; the CSP forbids inline scripts and styles anyway. Changes
 * send the session's CSRF token (GET /v1/web/session) in X-CSRF-Token and JSON bodies, as the TCP
 * listener requires. Labels come from GET /v1/codes, so the page never holds its own list of codes;
 * every other word comes from i18n.js (t), in the language the reader chose. A change of language
 * redraws the current page; a form keeps what was typed in it and its error notes.
 */
'use strict';

const RK = { codes: null, csrf: null, node: null, status: null, keep: null, kept: null };

/* ------------------------------------------------------------------ small helpers */

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined || kid === false) continue;
    e.append(kid instanceof Node ? kid : String(kid));
  }
  return e;
}

function main() { return document.getElementById('main'); }

function show(...nodes) {
  const m = main();
  m.replaceChildren(...nodes.filter((n) => n));
  if (RK.flash) {
    m.prepend(el('p', { class: 'notice', role: 'status', text: RK.flash }));
    RK.flash = null;
  }
  window.scrollTo(0, 0);
}

async function api(method, path, body) {
  const opt = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET') {
    opt.headers['X-CSRF-Token'] = RK.csrf || '';
  }
  if (body !== undefined) {
    opt.headers['Content-Type'] = 'application/json';
    opt.body = JSON.stringify(body);
  }
  const r = await fetch(path, opt);
  if (r.status === 401) {
    location.href = '/login';
    throw new Error('no session');
  }
  let j = null;
  try { j = await r.json(); } catch (e) { j = null; }
  return { status: r.status, ok: r.ok, json: j };
}

async function getJSON(path) {
  const r = await api('GET', path);
  if (!r.ok) throw new Error(errorText(r));
  return r.json;
}

/* An API error's message in the reader's language, with its code. The API writes each detail in
 * both languages (message_ja, message); other errors have an English message, which Japanese
 * readers get as the label of its code when i18n.js has one. */
function errorText(r) {
  const e = r.json && r.json.error;
  if (!e) return t('err.http', r.status);
  const d = e.details && e.details[0];
  let msg = e.message;
  if (rkLang === 'ja') msg = d && d.message_ja ? d.message_ja : tHas('err.' + e.code) ? t('err.' + e.code) : e.message;
  else if (d && d.message) msg = d.message;
  return t('fmt.with_code', msg, e.code);
}

/* The label of a code in the reader's language (the code itself when the list lacks it). */
function label(tax, code) {
  if (code === undefined || code === null || code === '') return '';
  const list = RK.codes && RK.codes[tax];
  const f = list && list.find((c) => c.code === code);
  return f ? (rkLang === 'en' ? f.label_en : f.label_ja) || f.label_ja : code;
}

/* A choice as a list shows it: its label, and the code beside it where labels are not self-evident. */
function choiceText(tax, c) {
  const l = (rkLang === 'en' ? c.label_en : c.label_ja) || c.label_ja;
  return tax === 'prefecture' ? l : t('fmt.with_code', l, c.code);
}

function prefName(code) { return label('prefecture', code) || code || t('common.unknown'); }

/* A prefecture's name as a map tile shows it: without 都/府/県 in Japanese. */
function prefShort(code) {
  const n = prefName(code);
  return rkLang === 'ja' ? n.replace(/[都府県]$/, '') : n;
}

function fmtDate(s) {
  if (!s) return '';
  const d = new Date(s);
  if (isNaN(d)) return s;
  return d.toLocaleString(t('locale'), { timeZone: 'Asia/Tokyo', year: 'numeric', month: 'long', day: 'numeric',
    hour: '2-digit', minute: '2-digit' });
}

function fmtDay(s) {
  const d = new Date(s);
  if (isNaN(d)) return s || '';
  return d.toLocaleDateString(t('locale'), { timeZone: 'Asia/Tokyo', year: 'numeric', month: 'long', day: 'numeric',
    weekday: 'short' });
}

/* "2027年4月" or "April 2027", for year y and month m (1..12). */
function fmtMonth(y, m) {
  return new Date(Date.UTC(y, m - 1, 1)).toLocaleDateString(t('locale'), { timeZone: 'UTC', year: 'numeric', month: 'long' });
}

/* The short weekday names, Sunday first. */
function weekdayNames() {
  /* 2023-01-01 was a Sunday */
  return [0, 1, 2, 3, 4, 5, 6].map((i) => new Date(Date.UTC(2023, 0, 1 + i)).toLocaleDateString(t('locale'), { timeZone: 'UTC', weekday: 'short' }));
}

/* The calendar day "YYYY-MM-DD" of an instant in Japan time. */
function jstDay(s) {
  const d = new Date(new Date(s).getTime() + 9 * 3600 * 1000);
  return d.toISOString().slice(0, 10);
}

function eventWhen(ev) {
  const p = ev.date_precision;
  const s = ev.starts_at;
  if (!s) return '';
  if (p === 'fiscal_year') return t('fmt.fiscal_year', jstDay(s).slice(0, 4));
  if (p === 'month') { const d = jstDay(s); return fmtMonth(Number(d.slice(0, 4)), Number(d.slice(5, 7))); }
  if (p === 'day') {
    const a = fmtDay(s), b = ev.ends_at ? fmtDay(ev.ends_at) : a;
    return a === b ? a : t('fmt.range', a, b);
  }
  return ev.ends_at ? t('fmt.range', fmtDate(s), fmtDate(ev.ends_at)) : fmtDate(s);
}

function body(rec) { return rec[rec.kind] || {}; }

function title(rec) {
  const b = body(rec);
  return b.title || b.name || t('common.untitled');
}

function chip(text, cls) { return el('span', { class: 'chip ' + (cls || ''), text }); }

/* The record kinds a coordinator publishes, in the order the page offers them. */
const KINDS = ['case', 'event', 'region'];

function cancelledChip() { return chip(label('status', 'cancelled'), 'cancelled'); }

/* ------------------------------------------------------------------ record cards and page */

function card(rec) {
  const b = body(rec);
  const chips = [chip(label('kind', rec.kind), 'kind-' + rec.kind)];
  if (rec.kind === 'case' && b.industry) chips.push(chip(label('industry', b.industry)));
  if (rec.kind === 'case' && b.dx_level) chips.push(chip(label('dx_level', b.dx_level)));
  for (const s of (b.skills || []).slice(0, 3)) chips.push(chip(label('skills', s)));
  if (rec.kind === 'event' && b.status === 'cancelled') chips.push(cancelledChip());
  if (rec.visibility && rec.visibility !== 'public') chips.push(chip(label('visibility', rec.visibility), 'vis'));
  const who = rec.provenance && rec.provenance.node ? rec.provenance.node : (rec.author || '').slice(0, 12);
  return el('article', { class: 'card', 'data-id': rec.id },
    el('h3', {}, el('a', { href: '#/record/' + encodeURIComponent(rec.id), text: title(rec) })),
    el('div', { class: 'meta' }, prefName(b.prefecture) + t('fmt.dot') + t('card.by', who) +
      (rec.kind === 'event' ? t('fmt.dot') + eventWhen(b) : '')),
    el('div', {}, chips),
    b.summary ? el('div', { class: 'summary', text: b.summary.length > 120 ? b.summary.slice(0, 120) + '…' : b.summary }) : null);
}

function propRows(rec) {
  const b = body(rec);
  const rows = [];
  const add = (k, v) => { if (v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && !v.length)) rows.push(el('dt', { text: k }), el('dd', { text: v })); };
  for (const f of FORMS[rec.kind] || []) {
    const v = b[f.k];
    if (f.t === 'group') {
      if (v) for (const g of f.fields) add(fieldLabel(f) + ' / ' + fieldLabel(g), fmtValue(g, v[g.k]));
    } else if (f.t === 'objlist') {
      if (v && v.length) add(fieldLabel(f), v.map((o) => f.fields.map((g) => fmtValue(g, o[g.k])).filter(Boolean).join(' / ')).join('\n'));
    } else if (f.t === 'when') {
      add(fieldLabel(f), eventWhen(b));
    } else {
      add(fieldLabel(f), fmtValue(f, v));
    }
  }
  return rows;
}

function fmtValue(f, v) {
  if (v === undefined || v === null || v === '') return '';
  if (f.t === 'select' || f.t === 'pref') return f.t === 'pref' ? prefName(v) : label(f.tax, v);
  if (f.t === 'multi') return v.map((x) => label(f.tax, x)).join(t('fmt.list_sep'));
  if (f.t === 'prefs') return v.map(prefName).join(t('fmt.list_sep'));
  if (f.t === 'list') return v.join(t('fmt.list_sep'));
  if (f.t === 'bool') return v ? t('common.yes') : t('common.no');
  if (f.t === 'deadline') return fmtDay(v);
  return String(v);
}

async function pageRecord(id) {
  const r = await api('GET', '/v1/records/' + encodeURIComponent(id));
  if (r.status === 410) return show(el('h1', { text: t('record.deleted') }));
  if (!r.ok) return show(el('h1', { text: t('record.not_found') }), el('p', { text: errorText(r) }));
  const rec = r.json;
  const p = rec.provenance || {};
  const own = RK.status && rec.author === RK.status.key;
  const actions = el('div', { class: 'actions' });
  if (own) {
    actions.append(el('a', { class: 'button', href: '#/edit/' + encodeURIComponent(rec.id), text: t('record.edit') }),
      el('button', { class: 'danger', type: 'button', onclick: () => deleteRecord(rec), text: t('record.delete') }));
  }
  show(el('div', { class: 'panel' },
    el('div', {}, chip(label('kind', rec.kind), 'kind-' + rec.kind), chip(label('visibility', rec.visibility), 'vis'),
      rec.kind === 'event' && body(rec).status === 'cancelled' ? cancelledChip() : null),
    el('h1', { text: title(rec) }),
    el('dl', { class: 'props' }, propRows(rec)),
    actions),
  el('div', { class: 'panel provenance' },
    el('h2', { text: t('record.provenance') }),
    el('dl', { class: 'props' },
      el('dt', { text: t('record.signer') }), el('dd', { text: (p.node || t('record.signer_unknown')) }),
      el('dt', { text: t('record.key') }), el('dd', { text: rec.author || '' }),
      el('dt', { text: t('record.version') }), el('dd', { text: t('record.version_value', fmtDate(Number(rec.version)), rec.version) }),
      el('dt', { text: t('record.created') }), el('dd', { text: fmtDate(rec.created_at) }),
      el('dt', { text: t('record.verified') }), el('dd', { class: 'verified', text: t('record.verified_value') }),
      el('dt', { text: t('record.hash') }), el('dd', { text: rec.hash || '' }))));
}

async function deleteRecord(rec) {
  if (!window.confirm(t('delete.confirm', title(rec)))) return;
  const r = await api('DELETE', '/v1/records/' + encodeURIComponent(rec.id));
  if (!r.ok) { window.alert(t('delete.failed', errorText(r))); return; }
  flash(t('delete.done'));
  location.hash = '#/';
}

/* A message for the next page shown (after a change of the hash). */
function flash(text) { RK.flash = text; }

/* ------------------------------------------------------------------ search and browse */

function selectOf(name, tax, first, value) {
  const s = el('select', { name }, el('option', { value: '', text: first }));
  for (const c of (RK.codes[tax] || [])) s.append(el('option', { value: c.code, text: choiceText(tax, c) }));
  s.value = value || '';
  return s;
}

async function pageSearch(params) {
  const q = el('input', { type: 'search', name: 'q', class: 'wide', placeholder: t('search.placeholder'), value: params.get('q') || '' });
  const kind = el('select', { name: 'kind' }, el('option', { value: '', text: t('common.all') }),
    ...KINDS.map((k) => el('option', { value: k, text: label('kind', k) })));
  kind.value = params.get('kind') || '';
  const fields = [['prefecture', 'f.prefecture', 'prefecture'], ['industry', 'f.industry', 'industry'], ['dx_level', 'f.dx_level', 'dx_level'], ['skill', 'f.skills', 'skills']];
  const sels = fields.map(([n, l, tax]) => [n, t(l), selectOf(n, tax, t('common.all'), params.get(n))]);
  const form = el('form', { class: 'panel', role: 'search' },
    el('label', { class: 'field' }, el('span', { class: 'label', text: t('search.keywords') }), q),
    el('div', { class: 'filters' },
      el('label', {}, t('search.kind'), kind),
      ...sels.map(([, l, s]) => el('label', {}, l, s)),
      el('button', { type: 'submit', text: t('search.submit') })));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const u = new URLSearchParams();
    if (q.value.trim()) u.set('q', q.value.trim());
    if (kind.value) u.set('kind', kind.value);
    for (const [n, , s] of sels) if (s.value) u.set(n, s.value);
    location.hash = '#/?' + u.toString();
  });
  const results = el('div', { class: 'cards', id: 'results' });
  const count = el('p', { class: 'meta', id: 'count' });
  show(el('h1', { text: t('search.title') }), form, count, results);
  const u = new URLSearchParams(params);
  u.set('limit', '60');
  const r = await api('GET', '/v1/records?' + u.toString());
  if (!r.ok) { count.textContent = errorText(r); return; }
  const recs = r.json.records || [];
  count.textContent = recs.length ? t('search.found', recs.length, !!r.json.next_cursor) : t('search.none');
  results.replaceChildren(...recs.map(card));
}

/* ------------------------------------------------------------------ forms */

/* The fields of each record kind (proto/renkei.proto), in the order a coordinator fills them in. t:
 * text, area, url, email, number, bool, select (one code of tax), multi (codes of tax), pref, prefs,
 * list (one string per line), month (a YYYY-MM period), deadline (a day), when (an event's dates),
 * group (a nested message), objlist (a repeated message, one per line with " / " between fields). */
const CONTACT = { k: 'contact', t: 'group', fields: [
  { k: 'name', t: 'text', l: 'contact_name' }, { k: 'organisation', t: 'text', l: 'affiliation' },
  { k: 'email', t: 'email' }, { k: 'phone', t: 'text' }, { k: 'url', t: 'url' }] };

/* Each field's label is the text f.<l> of i18n.js (l defaults to the field's key k) and its hint,
 * if any, the text h.<h>. */
const FORMS = {
  case: [
    { k: 'title', t: 'text', req: true },
    { k: 'summary', t: 'area', req: true },
    { k: 'prefecture', t: 'pref', req: true },
    { k: 'municipality', t: 'text', h: 'municipality' },
    { k: 'place_name', t: 'text', h: 'place_name' },
    { k: 'industry', t: 'select', tax: 'industry', req: true },
    { k: 'dx_level', t: 'select', tax: 'dx_level', req: true },
    { k: 'case_kind', t: 'select', tax: 'case_kind' },
    { k: 'organisation', t: 'group', fields: [
      { k: 'name', t: 'text', l: 'org_name', h: 'org_name' },
      { k: 'anonymised', t: 'bool' },
      { k: 'org_type', t: 'select', tax: 'org_type' },
      { k: 'employees', t: 'number' },
      { k: 'size_band', t: 'select', tax: 'size_band' }] },
    { k: 'challenge', t: 'area' },
    { k: 'initiative', t: 'area' },
    { k: 'skills', t: 'multi', tax: 'skills' },
    { k: 'technologies', t: 'list', h: 'technologies' },
    { k: 'reskilling_type', t: 'select', tax: 'reskilling_type' },
    { k: 'target_layers', t: 'multi', tax: 'audience' },
    { k: 'digital_stage', t: 'select', tax: 'digital_stage' },
    { k: 'process_step', t: 'select', tax: 'process_step' },
    { k: 'dx_roles', t: 'multi', tax: 'dx_roles' },
    { k: 'support_types', t: 'multi', tax: 'support_types' },
    { k: 'support_organisations', t: 'list', h: 'one_per_line' },
    { k: 'funding', t: 'list', h: 'one_per_line' },
    { k: 'results', t: 'objlist', h: 'results', fields: [
      { k: 'metric', t: 'text' }, { k: 'value', t: 'number' }, { k: 'unit', t: 'text' },
      { k: 'baseline', t: 'number' }, { k: 'period', t: 'text' }] },
    { k: 'lessons', t: 'area' },
    { k: 'failures', t: 'area' },
    { k: 'period', t: 'group', fields: [
      { k: 'start', t: 'month' }, { k: 'end', t: 'month' },
      { k: 'fiscal_year', t: 'text', h: 'fiscal_year' }] },
    { k: 'spread', t: 'group', fields: [
      { k: 'status', t: 'select', tax: 'spread_status', l: 'spread_status' },
      { k: 'adopted_by', t: 'list', h: 'one_per_line' }] },
    { k: 'sources', t: 'objlist', h: 'sources', fields: [
      { k: 'title', t: 'text', l: 'source_title' }, { k: 'url', t: 'url' }] },
    CONTACT,
    { k: 'tags', t: 'list', h: 'one_per_line' },
  ],
  event: [
    { k: 'title', t: 'text', req: true },
    { k: 'event_type', t: 'select', tax: 'event_type', req: true },
    { k: 'summary', t: 'area' },
    { k: 'when', t: 'when', req: true },
    { k: 'format', t: 'select', tax: 'format', req: true },
    { k: 'prefecture', t: 'pref', req: true },
    { k: 'venue', t: 'group', fields: [
      { k: 'name', t: 'text', l: 'venue_name' }, { k: 'address', t: 'text' },
      { k: 'prefecture', t: 'pref', l: 'venue_prefecture' }] },
    { k: 'online_platform', t: 'text', h: 'online_platform' },
    { k: 'organiser', t: 'text' },
    { k: 'co_organisers', t: 'list', h: 'one_per_line' },
    { k: 'regions', t: 'prefs' },
    { k: 'open_scope', t: 'select', tax: 'open_scope' },
    { k: 'audience', t: 'multi', tax: 'audience' },
    { k: 'skills', t: 'multi', tax: 'skills' },
    { k: 'dx_level_fit', t: 'select', tax: 'dx_level_fit' },
    { k: 'capacity', t: 'number' },
    { k: 'fee_yen', t: 'number', h: 'fee_yen' },
    { k: 'application_url', t: 'url' },
    { k: 'application_deadline', t: 'deadline' },
    { k: 'subsidy_eligible', t: 'bool' },
    { k: 'recurrence', t: 'select', tax: 'recurrence' },
    { k: 'agenda', t: 'objlist', h: 'agenda', fields: [
      { k: 'starts_at', t: 'text', l: 'agenda_start' }, { k: 'ends_at', t: 'text', l: 'agenda_end' },
      { k: 'title', t: 'text', l: 'agenda_title' }, { k: 'speaker', t: 'text' }] },
    { k: 'speakers', t: 'objlist', h: 'speakers', fields: [
      { k: 'name', t: 'text', l: 'person_name' }, { k: 'affiliation', t: 'text' }] },
    { k: 'status', t: 'select', tax: 'status', h: 'status' },
    CONTACT,
    { k: 'tags', t: 'list', h: 'one_per_line' },
  ],
  region: [
    { k: 'name', t: 'text', req: true, h: 'region_name' },
    { k: 'node_kind', t: 'select', tax: 'node_kind', req: true },
    { k: 'prefecture', t: 'pref' },
    { k: 'municipality', t: 'text' },
    { k: 'coordinating_organisation', t: 'text' },
    { k: 'key_industries', t: 'multi', tax: 'industry' },
    { k: 'issues', t: 'list', h: 'issues' },
    { k: 'attractions', t: 'list', h: 'attractions' },
    { k: 'summary', t: 'area', l: 'intro' },
    { k: 'website', t: 'url' },
    CONTACT,
  ],
};

function fieldLabel(f) { return t('f.' + (f.l || f.k)); }

/* Builds the input(s) of field f at path; returns {node, get(), set(v)}. */
function input(f, path) {
  const id = 'f-' + path.replace(/[^a-z0-9]/gi, '-');
  let node, get, set;
  const plain = (type) => {
    node = el('input', { type, id, name: path, class: type === 'number' ? '' : 'wide' });
    get = () => (type === 'number' ? (node.value === '' ? undefined : Number(node.value)) : node.value.trim() || undefined);
    set = (v) => { node.value = v === undefined || v === null ? '' : v; };
  };
  switch (f.t) {
    case 'text': case 'url': case 'email': case 'number': plain(f.t); break;
    case 'month': plain('month'); break;
    case 'area':
      node = el('textarea', { id, name: path });
      get = () => node.value.trim() || undefined;
      set = (v) => { node.value = v || ''; };
      break;
    case 'bool':
      node = el('input', { type: 'checkbox', id, name: path });
      get = () => (node.checked ? true : undefined);
      set = (v) => { node.checked = !!v; };
      break;
    case 'select': case 'pref':
      node = selectOf(path, f.t === 'pref' ? 'prefecture' : f.tax, t('common.choose'));
      node.id = id;
      get = () => node.value || undefined;
      set = (v) => { node.value = v || ''; };
      break;
    case 'multi': case 'prefs': {
      const tax = f.t === 'prefs' ? 'prefecture' : f.tax;
      const boxes = (RK.codes[tax] || []).map((c) => el('label', {}, el('input', { type: 'checkbox', value: c.code, name: path }), ' ' + label(tax, c.code)));
      node = el('div', { class: 'checks', id, role: 'group' }, boxes);
      const all = () => [...node.querySelectorAll('input')];
      get = () => { const v = all().filter((b) => b.checked).map((b) => b.value); return v.length ? v : undefined; };
      set = (v) => { for (const b of all()) b.checked = (v || []).includes(b.value); };
      break;
    }
    case 'list':
      node = el('textarea', { id, name: path, rows: 3 });
      get = () => { const v = node.value.split('\n').map((s) => s.trim()).filter(Boolean); return v.length ? v : undefined; };
      set = (v) => { node.value = (v || []).join('\n'); };
      break;
    case 'deadline':
      node = el('input', { type: 'date', id, name: path });
      get = () => node.value || undefined;
      set = (v) => { node.value = v ? (v.length > 10 ? jstDay(v) : v) : ''; };
      break;
    case 'objlist':
      node = el('textarea', { id, name: path, rows: 3 });
      get = () => {
        const rows = node.value.split('\n').map((s) => s.trim()).filter(Boolean).map((line) => {
          const parts = line.split('/').map((s) => s.trim());
          const o = {};
          f.fields.forEach((g, i) => {
            if (parts[i] === undefined || parts[i] === '') return;
            o[g.k] = g.t === 'number' && !isNaN(Number(parts[i])) ? Number(parts[i]) : parts[i];
          });
          return o;
        });
        return rows.length ? rows : undefined;
      };
      set = (v) => { node.value = (v || []).map((o) => f.fields.map((g) => (o[g.k] === undefined ? '' : o[g.k])).join(' / ')).join('\n'); };
      break;
    case 'when': return whenInput(path);
    case 'group': {
      const parts = f.fields.map((g) => fieldBlock(g, path + '.' + g.k));
      node = el('fieldset', { 'data-path': path }, el('legend', { text: fieldLabel(f) }), parts.map((p) => p.node));
      get = () => {
        const o = {};
        f.fields.forEach((g, i) => { const v = parts[i].get(); if (v !== undefined) o[g.k] = v; });
        return Object.keys(o).length ? o : undefined;
      };
      set = (v) => { f.fields.forEach((g, i) => parts[i].set((v || {})[g.k])); };
      return { node, get, set, group: true };
    }
    default: throw new Error('unknown field type ' + f.t);
  }
  return { node, get, set, id };
}

/* An event's dates: the precision decides the inputs (date and time, a day, a month, a fiscal year);
 * the record stores RFC 3339 instants in Japan time. */
function whenInput(path) {
  const prec = el('select', { id: 'f-precision', name: 'date_precision' },
    ...['time', 'day', 'month', 'fiscal_year'].map((c) => el('option', { value: c, text: label('date_precision', c) + t('when.' + c) })));
  prec.value = 'day';
  const mk = (n) => ({
    time: el('input', { type: 'datetime-local', name: n + '_time', id: 'f-' + n + '-time' }),
    day: el('input', { type: 'date', name: n + '_day', id: 'f-' + n + '-day' }),
    month: el('input', { type: 'month', name: n + '_month', id: 'f-' + n + '-month' }),
    fiscal_year: el('input', { type: 'number', name: n + '_fy', id: 'f-' + n + '-fy', min: 2000, max: 2100, placeholder: '2025' }),
  });
  const start = mk('starts'), end = mk('ends');
  const startBox = el('span', { 'data-path': path.replace('when', 'starts_at') }, ...Object.values(start));
  const endBox = el('span', { 'data-path': path.replace('when', 'ends_at') }, ...Object.values(end));
  const sync = () => {
    for (const k of Object.keys(start)) {
      start[k].classList.toggle('hidden', k !== prec.value);
      end[k].classList.toggle('hidden', k !== prec.value);
    }
  };
  prec.addEventListener('change', sync);
  sync();
  const pad = (n) => String(n).padStart(2, '0');
  const lastDay = (y, m) => new Date(Date.UTC(y, m, 0)).getUTCDate();
  const toRange = (box, isEnd) => {
    const p = prec.value, v = box[p].value;
    if (!v) return undefined;
    if (p === 'time') return v + ':00+09:00';
    if (p === 'day') return v + (isEnd ? 'T23:59:59+09:00' : 'T00:00:00+09:00');
    if (p === 'month') {
      const [y, m] = v.split('-').map(Number);
      return isEnd ? y + '-' + pad(m) + '-' + pad(lastDay(y, m)) + 'T23:59:59+09:00' : v + '-01T00:00:00+09:00';
    }
    const y = Number(v);
    return isEnd ? (y + 1) + '-03-31T23:59:59+09:00' : y + '-04-01T00:00:00+09:00';
  };
  const node = el('div', { class: 'when' },
    el('label', {}, t('when.how'), prec),
    el('div', { class: 'hint', text: t('when.hint') }),
    el('div', {}, t('when.start'), startBox, t('when.end'), endBox));
  return {
    node, when: true,
    get: () => {
      const s = toRange(start, false);
      let e = toRange(end, true);
      if (s && !e) {
        if (prec.value === 'time') e = s;
        else { const tmp = {}; tmp[prec.value] = { value: start[prec.value].value }; e = toRange(tmp, true); }
      }
      return { date_precision: prec.value, starts_at: s, ends_at: e };
    },
    set: (ev) => {
      prec.value = ev.date_precision || 'time';
      sync();
      const put = (box, s) => {
        if (!s) return;
        const d = new Date(new Date(s).getTime() + 9 * 3600 * 1000).toISOString();
        box.time.value = d.slice(0, 16);
        box.day.value = d.slice(0, 10);
        box.month.value = d.slice(0, 7);
        box.fiscal_year.value = Number(d.slice(5, 7)) >= 4 ? d.slice(0, 4) : Number(d.slice(0, 4)) - 1;
      };
      put(start, ev.starts_at);
      put(end, ev.ends_at);
    },
  };
}

/* A labelled field with its hint and its error line. */
function fieldBlock(f, path) {
  const inp = input(f, path);
  if (inp.group) return inp;
  const err = el('div', { class: 'error', role: 'alert', 'data-error-for': path });
  const lab = f.t === 'multi' || f.t === 'prefs' || f.t === 'when'
    ? el('span', { class: 'label' }, fieldLabel(f), f.req ? el('span', { class: 'req', text: t('common.required') }) : null)
    : el('label', { for: inp.id }, fieldLabel(f), f.req ? el('span', { class: 'req', text: t('common.required') }) : null);
  const node = el('div', { class: 'field', 'data-path': path }, lab, f.h ? el('div', { class: 'hint', text: t('h.' + f.h) }) : null, inp.node, err);
  return { node, get: inp.get, set: inp.set, when: inp.when };
}

async function pageForm(kind, id) {
  let rec = null;
  if (id) {
    const r = await api('GET', '/v1/records/' + encodeURIComponent(id));
    if (!r.ok) return show(el('h1', { text: t('record.not_found') }), el('p', { text: errorText(r) }));
    rec = r.json;
    kind = rec.kind;
  } else if (kind === 'region') {
    /* the node's own profile, if it has one, is edited rather than published twice */
    const r = await api('GET', '/v1/records?kind=region&author=' + encodeURIComponent(RK.status.key) + '&limit=1');
    if (r.ok && r.json.records && r.json.records.length) { location.hash = '#/edit/' + encodeURIComponent(r.json.records[0].id); return; }
  }
  const specs = FORMS[kind];
  if (!specs) return show(el('h1', { text: t('form.unknown_kind') }));
  const blocks = specs.map((f) => [f, fieldBlock(f, kind + '.' + f.k)]);
  const vis = el('div', { class: 'field', 'data-path': 'visibility' }, el('span', { class: 'label', text: t('form.visibility') }),
    ...['public', 'network', 'local'].map((v) => el('label', { class: 'vis-choice' },
      el('input', { type: 'radio', name: 'visibility', value: v }), ' ', t('vis.' + v)), el('br')),
    el('div', { class: 'error', 'data-error-for': 'visibility' }));
  const summary = el('div', { class: 'errors-summary hidden', role: 'alert', id: 'errors' });
  const submit = el('button', { type: 'submit', id: 'submit', text: rec ? t('form.update') : t('form.publish') });
  const form = el('form', { class: 'panel', novalidate: true, id: 'record-form', 'data-kind': kind }, summary, blocks.map(([, b]) => b.node), vis,
    el('div', { class: 'actions' }, submit, rec ? el('a', { class: 'button secondary', href: '#/record/' + encodeURIComponent(rec.id), text: t('form.cancel') }) : null));
  const setVis = (v) => { for (const r of vis.querySelectorAll('input')) r.checked = r.value === v; };
  /* what the form holds, as the record body it publishes */
  const collect = () => {
    const out = {};
    for (const [f, blk] of blocks) {
      const v = blk.get();
      if (f.t === 'when') { for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = x; } else if (v !== undefined) out[f.k] = v;
    }
    const vv = vis.querySelector('input:checked');
    return { body: out, visibility: vv ? vv.value : 'public' };
  };
  const fill = (b, visibility) => {
    setVis(visibility);
    for (const [f, blk] of blocks) blk.set(f.t === 'when' ? b : b[f.k]);
  };
  const kept = RK.kept && RK.kept.hash === location.hash ? RK.kept : null;
  RK.kept = null;
  let lastError = kept ? kept.error : null;
  if (kept) fill(kept.body, kept.visibility);
  else if (rec) fill(body(rec), rec.visibility);
  else setVis('public');
  RK.keep = () => Object.assign(collect(), { hash: location.hash, error: lastError });
  const tabs = el('div', { class: 'actions' }, ...KINDS.map((k) =>
    el('a', { class: 'button' + (k === kind ? '' : ' secondary'), href: '#/new/' + k, text: label('kind', k) })));
  show(el('h1', { text: rec ? t('form.edit_title', title(rec)) : t('form.new_title', label('kind', kind)) }), rec ? null : tabs,
    el('p', { class: 'hint', text: t('form.intro') }), form);
  if (lastError) showErrors(form, summary, lastError);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const c = collect();
    const payload = { kind, visibility: c.visibility };
    payload[kind] = c.body;
    if (rec) payload.rid = rec.rid;
    submit.disabled = true;
    const r = rec ? await api('PUT', '/v1/records/' + encodeURIComponent(rec.id), payload) : await api('POST', '/v1/records', payload);
    submit.disabled = false;
    if (r.ok) {
      const newId = r.json.id || (rec && rec.id);
      flash(rec ? t('form.updated', r.json.version) : t('form.published'));
      location.hash = '#/record/' + encodeURIComponent(newId);
      return;
    }
    lastError = r;
    showErrors(form, summary, r);
  });
}

/* Puts every problem of error.details at its field, in the reader's language; the rest in the
 * summary. The API writes each message in Japanese and English and names the field by its path
 * (case.title), which the page replaces with the field's label. */
function showErrors(form, summary, r) {
  for (const n of form.querySelectorAll('.has-error')) n.classList.remove('has-error');
  for (const n of form.querySelectorAll('.error')) n.textContent = '';
  const e = (r.json && r.json.error) || {};
  const details = e.details && e.details.length ? e.details
    : [{ field: e.field, message: e.message, message_ja: tHas('err.' + e.code) ? t('err.' + e.code) : e.message, code: e.code || 'HTTP ' + r.status }];
  const loose = [];
  for (const d of details) {
    const box = findField(form, d.field || '');
    /* the message names the field by its path (case.title): in the form, by its label */
    const name = box && box.querySelector('.label, label') ? box.querySelector('.label, label').firstChild.textContent : '';
    let msg = (rkLang === 'en' ? d.message || d.message_ja : d.message_ja || d.message) || '';
    if (name && d.field) msg = msg.split(d.field).join(t('fmt.quote', name));
    const text = msg + (d.suggestion ? t('form.suggestion', label(fieldTax(d.field), d.suggestion)) : '') + ' [' + d.code + ']';
    if (box) {
      box.classList.add('has-error');
      const line = box.querySelector(':scope > .error') || box.querySelector('.error');
      line.textContent = (line.textContent ? line.textContent + ' ' : '') + text;
    } else {
      loose.push(text);
    }
  }
  summary.replaceChildren(el('strong', { text: t('form.errors', details.length) }));
  if (loose.length) summary.append(el('ul', {}, loose.map((x) => el('li', { text: x }))));
  summary.classList.remove('hidden');
  summary.scrollIntoView();
}

function fieldTax(path) {
  const k = (path || '').replace(/\[\d+\]/g, '').split('.').pop();
  return { skills: 'skills', industry: 'industry', dx_level: 'dx_level', prefecture: 'prefecture', regions: 'prefecture', audience: 'audience', key_industries: 'industry' }[k] || k;
}

/* The field box for an error path: "case.skills[1]" is case.skills; "event.starts_at" is the dates. */
function findField(form, path) {
  let p = path.replace(/\[\d+\]/g, '');
  if (/^event\.(starts_at|ends_at|date_precision)$/.test(p)) p = 'event.when';
  while (p) {
    const n = form.querySelector('.field[data-path="' + CSS.escape(p) + '"]');
    if (n) return n;
    p = p.includes('.') ? p.slice(0, p.lastIndexOf('.')) : '';
  }
  return null;
}

/* ------------------------------------------------------------------ events */

async function pageEvents(params) {
  const now = new Date();
  const ym = params.get('month') || jstDay(now.toISOString()).slice(0, 7);
  const [y, m] = ym.split('-').map(Number);
  const pad = (n) => String(n).padStart(2, '0');
  const first = y + '-' + pad(m) + '-01';
  const lastDay = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const last = y + '-' + pad(m) + '-' + pad(lastDay);
  const prev = m === 1 ? (y - 1) + '-12' : y + '-' + pad(m - 1);
  const next = m === 12 ? (y + 1) + '-01' : y + '-' + pad(m + 1);
  const [monthR, upR] = await Promise.all([
    api('GET', '/v1/events?from=' + first + '&to=' + last + '&limit=1000'),
    api('GET', '/v1/events?limit=100'),
  ]);
  const cal = el('div', { class: 'cal', id: 'calendar', 'data-month': ym });
  for (const d of weekdayNames()) cal.append(el('div', { class: 'dow', text: d }));
  const startDow = new Date(Date.UTC(y, m - 1, 1)).getUTCDay();
  for (let i = 0; i < startDow; i++) cal.append(el('div', { class: 'day other' }));
  const today = jstDay(now.toISOString());
  const cells = {};
  for (let d = 1; d <= lastDay; d++) {
    const key = y + '-' + pad(m) + '-' + pad(d);
    cells[key] = el('div', { class: 'day' + (key === today ? ' today' : ''), 'data-day': key }, el('b', { text: d }));
    cal.append(cells[key]);
  }
  const monthOnly = el('ul', { class: 'month-only' });
  for (const rec of (monthR.ok ? monthR.json.events : [])) {
    const ev = body(rec);
    const cancelled = ev.status === 'cancelled';
    const link = () => el('a', { class: 'ev' + (cancelled ? ' cancelled' : ''), href: '#/record/' + encodeURIComponent(rec.id), title: ev.title, text: (cancelled ? t('events.cancelled_mark') : '') + ev.title });
    if (ev.date_precision === 'month' || ev.date_precision === 'fiscal_year') {
      monthOnly.append(el('li', {}, link(), ' — ' + eventWhen(ev)));
      continue;
    }
    const s = jstDay(ev.starts_at), e = jstDay(ev.ends_at || ev.starts_at);
    for (const [k, cell] of Object.entries(cells)) if (k >= s && k <= e) cell.append(link());
  }
  const list = el('div', { class: 'cards', id: 'upcoming' }, ...(upR.ok ? upR.json.events : []).map(card));
  show(el('h1', { text: t('events.title') }),
    el('div', { class: 'panel' },
      el('div', { class: 'calnav' },
        el('a', { class: 'button secondary', href: '#/events?month=' + prev, text: t('events.prev') }),
        el('h2', { id: 'cal-title', text: fmtMonth(y, m) }),
        el('a', { class: 'button secondary', href: '#/events?month=' + next, text: t('events.next') }),
        el('a', { class: 'button', href: '#/new/event', text: t('events.new') })),
      cal,
      monthOnly.children.length ? el('div', {}, el('h2', { text: t('events.month_only') }), monthOnly) : null),
    el('h2', { text: t('events.upcoming') }),
    list.children.length ? list : el('p', { class: 'meta', text: t('events.none') }));
}

/* ------------------------------------------------------------------ regions, network, national */

async function pageRegions() {
  const j = await getJSON('/v1/regions');
  const regions = j.regions || j;
  const cards = (Array.isArray(regions) ? regions : []).map((r) => el('article', { class: 'card' },
    el('h3', {}, r.profile_id ? el('a', { href: '#/record/' + encodeURIComponent(r.profile_id), text: r.name || r.roster_name }) : (r.name || r.roster_name || '')),
    el('div', { class: 'meta', text: r.profile_id ? prefName(r.prefecture) + (r.kind ? t('fmt.dot') + label('node_kind', r.kind) : '')
      : t('regions.no_profile', r.roster_name || r.name || '') }),
    r.coordinating_organisation ? el('div', { text: t('regions.coordinator', r.coordinating_organisation) }) : null,
    el('div', { class: 'meta', text: t('regions.records', r.records) + (r.last_record_version ? t('fmt.dot') + t('regions.last', fmtDate(r.last_record_version)) : '') }),
    r.website ? el('a', { href: r.website, rel: 'noopener noreferrer', text: r.website }) : null,
    el('a', { href: '#/?author=' + encodeURIComponent(r.key), text: t('regions.see_records') })));
  show(el('h1', { text: t('regions.title') }),
    el('p', {}, el('a', { class: 'button', href: '#/new/region', text: t('regions.edit_own') })),
    cards.length ? el('div', { class: 'cards', id: 'regions' }, cards) : el('p', { text: t('regions.none') }));
}

async function pageNetwork() {
  const [peers, st] = await Promise.all([getJSON('/v1/peers'), getJSON('/v1/status')]);
  const rows = (peers.peers || []).map((p) => {
    const rej = Object.entries(p.rejections || {}).filter(([, n]) => n > 0);
    return el('tr', {},
      el('td', {}, el('strong', { text: p.name || '' }), el('div', { class: 'meta', text: (p.key || '').slice(0, 16) + '…' })),
      el('td', { class: 'state-' + p.state, text: t('fmt.with_code', tHas('state.' + p.state) ? t('state.' + p.state) : p.state, p.state) }),
      el('td', { text: p.last_sync ? fmtDate(p.last_sync) : t('network.never') }),
      el('td', { text: t('network.sent_received', p.records_sent || 0, p.records_received || 0) }),
      el('td', { class: rej.length ? 'state-rejected' : '', text: rej.length ? rej.map(([k, n]) => k + ': ' + n).join(t('fmt.list_sep')) : t('network.none') }),
      el('td', { class: 'meta', text: p.url || t('network.inbound') }));
  });
  const r = st.records || {};
  show(el('h1', { text: t('network.title') }),
    el('div', { class: 'panel' },
      el('h2', { text: t('network.this_node') }),
      el('dl', { class: 'props' },
        el('dt', { text: t('network.name') }), el('dd', { text: st.name }),
        el('dt', { text: t('network.kind_pref') }), el('dd', { text: label('node_kind', st.kind) + t('fmt.dot') + prefName(st.prefecture) }),
        el('dt', { text: t('network.records') }), el('dd', { text: t('network.records_value', r.total, r.case, r.event, r.region) }),
        el('dt', { text: t('network.key') }), el('dd', { text: st.key }),
        el('dt', { text: t('network.uptime') }), el('dd', { text: t('network.uptime_value', Math.floor(st.uptime_s / 3600), Math.floor((st.uptime_s % 3600) / 60)) }))),
    el('h2', { text: t('network.peers') }),
    el('p', { class: 'hint', text: t('network.hint') }),
    rows.length ? el('table', { id: 'peers' }, el('thead', {}, el('tr', {}, ['peer', 'state', 'last_sync', 'records', 'rejections', 'url'].map((h) => el('th', { text: t('network.col_' + h) })))), el('tbody', {}, rows))
      : el('p', { text: t('network.no_peers') }));
}

/* The tiles of the 47 prefectures, [column, row] on a 13-column map of Japan. */
const PREF_TILES = { '01': [13, 1], '02': [13, 2], '05': [12, 3], '03': [13, 3], '06': [12, 4], '04': [13, 4], 17: [10, 5], 16: [11, 5],
  15: [12, 5], '07': [13, 5], 18: [9, 6], 21: [10, 6], 20: [11, 6], 10: [12, 6], '09': [13, 6], 32: [5, 7], 31: [6, 7], 28: [7, 7],
  26: [8, 7], 25: [9, 7], 19: [11, 7], 11: [12, 7], '08': [13, 7], 35: [4, 8], 34: [5, 8], 33: [6, 8], 27: [7, 8], 29: [8, 8],
  24: [9, 8], 23: [10, 8], 22: [11, 8], 13: [12, 8], 12: [13, 8], 30: [8, 9], 14: [12, 9], 41: [2, 9], 40: [3, 9], 38: [5, 10],
  37: [6, 10], 39: [5, 11], 36: [6, 11], 42: [1, 10], 43: [2, 10], 44: [3, 10], 46: [2, 11], 45: [3, 11], 47: [1, 13] };

/* A horizontal bar chart in HTML and CSS. Chart.js (Debian's libjs-chart.js) would draw the same on a
 * canvas for about 200 KB more script; the bars here stay text, so they follow the language switch,
 * wrap on a narrow screen, are read by screen readers and are checked by the browser tests. */
function bars(obj, tax) {
  const entries = Object.entries(obj || {}).filter(([k, n]) => k !== 'unknown' && n > 0).sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...entries.map(([, n]) => n));
  if (!entries.length) return el('p', { class: 'meta', text: t('common.none_yet') });
  return el('div', { class: 'bars', 'data-tax': tax }, entries.map(([k, n]) => {
    const fill = el('span', {});
    fill.style.width = Math.round((100 * n) / max) + '%';
    return [el('span', { text: label(tax, k) }), el('span', { class: 'bar' }, fill), el('span', { text: n })];
  }));
}

async function pageNational() {
  const s = await getJSON('/v1/stats');
  const grid = el('div', { class: 'jp-grid', id: 'japan' });
  const rows = (s.by_prefecture || []).filter((p) => p.code !== 'unknown');
  const max = Math.max(1, ...rows.map((p) => p.total));
  for (const p of rows) {
    const pos = PREF_TILES[p.code] || PREF_TILES[Number(p.code)];
    const lvl = p.total === 0 ? 0 : Math.min(4, 1 + Math.floor((3 * p.total) / max));
    const tile = el('div', { class: 'pref l' + lvl, 'data-pref': p.code, title: t('national.tile', prefName(p.code), p.case, p.event, p.region) },
      el('b', { class: 'count', text: p.total }), el('span', { text: prefShort(p.code) }));
    if (pos) { tile.style.gridColumn = pos[0]; tile.style.gridRow = pos[1]; }
    grid.append(tile);
  }
  const k = s.by_kind || {};
  show(el('h1', { text: t('national.title') }),
    el('p', { class: 'meta', text: t('national.summary', s.total, k.case || 0, k.event || 0, k.region || 0, fmtDate(s.generated_at)) }),
    el('div', { class: 'panel' }, el('h2', { text: t('national.by_prefecture') }), grid),
    el('div', { class: 'panel' }, el('h2', { text: t('national.by_industry') }), bars(s.by_industry, 'industry')),
    el('div', { class: 'panel' }, el('h2', { text: t('national.by_dx_level') }), bars(s.by_dx_level, 'dx_level')),
    el('div', { class: 'panel' }, el('h2', { text: t('national.by_skill') }), bars(s.by_skill, 'skills')));
}

/* ------------------------------------------------------------------ routing */

async function route() {
  const h = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = h.split('?');
  const params = new URLSearchParams(qs || '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const section = { record: 'search', new: 'new', edit: 'new', events: 'events', regions: 'regions', network: 'network', national: 'national' }[parts[0]] || 'search';
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('on', a.dataset.nav === section);
  RK.keep = null; /* only the form on show keeps its input across a change of language */
  try {
    if (parts[0] === 'record') await pageRecord(parts[1]);
    else if (parts[0] === 'new') await pageForm(parts[1] || 'case');
    else if (parts[0] === 'edit') await pageForm(null, parts[1]);
    else if (parts[0] === 'events') await pageEvents(params);
    else if (parts[0] === 'regions') await pageRegions();
    else if (parts[0] === 'network') await pageNetwork();
    else if (parts[0] === 'national') await pageNational();
    else await pageSearch(params);
  } catch (e) {
    if (String(e.message) !== 'no session') show(el('h1', { text: t('page.load_failed') }), el('p', { text: String(e.message) }));
  }
}

async function start() {
  const [sess, codes, status] = await Promise.all([api('GET', '/v1/web/session'), api('GET', '/v1/codes'), api('GET', '/v1/status')]);
  if (!sess.ok || !codes.ok || !status.ok) return;
  RK.csrf = sess.json.csrf;
  RK.codes = codes.json;
  RK.status = status.json;
  showNode();
  window.addEventListener('hashchange', route);
  document.addEventListener('rk-lang', () => {
    RK.kept = RK.keep ? RK.keep() : null;
    showNode();
    route();
  });
  route();
}

function showNode() {
  document.getElementById('node').textContent = t('page.node', RK.status.name, prefName(RK.status.prefecture));
}

start();
