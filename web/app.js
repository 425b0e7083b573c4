/* app.js: the coordinator's page, one plain script over the node's JSON API (docs/api.md).
 *
 * Routes live in the URL's hash (#/, #/record/ID, #/new/case, #/edit/ID, #/events, #/regions,
 * #/network, #/national). Every text from a record goes into the page through textContent, never as
 * HTML, so a record cannot inject markup; the CSP forbids inline scripts and styles anyway. Changes
 * send the session's CSRF token (GET /v1/web/session) in X-CSRF-Token and JSON bodies, as the TCP
 * listener requires. Labels come from GET /v1/codes, so the page never holds its own list of codes.
 */
'use strict';

const RK = { codes: null, csrf: null, node: null, status: null };

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

function errorText(r) {
  const e = r.json && r.json.error;
  if (!e) return 'エラー（HTTP ' + r.status + '）';
  const d = e.details && e.details[0];
  return (d && d.message_ja ? d.message_ja : e.message) + '（' + e.code + '）';
}

function label(tax, code) {
  if (code === undefined || code === null || code === '') return '';
  const list = RK.codes && RK.codes[tax];
  const f = list && list.find((c) => c.code === code);
  return f ? f.label_ja : code;
}

function prefName(code) { return label('prefecture', code) || code || '不明'; }

function fmtDate(s) {
  if (!s) return '';
  const d = new Date(s);
  if (isNaN(d)) return s;
  return d.toLocaleString('ja-JP', { timeZone: 'Asia/Tokyo', year: 'numeric', month: 'long', day: 'numeric',
    hour: '2-digit', minute: '2-digit' });
}

function fmtDay(s) {
  const d = new Date(s);
  if (isNaN(d)) return s || '';
  return d.toLocaleDateString('ja-JP', { timeZone: 'Asia/Tokyo', year: 'numeric', month: 'long', day: 'numeric',
    weekday: 'short' });
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
  if (p === 'fiscal_year') return jstDay(s).slice(0, 4) + '年度';
  if (p === 'month') { const d = jstDay(s); return d.slice(0, 4) + '年' + Number(d.slice(5, 7)) + '月'; }
  if (p === 'day') {
    const a = fmtDay(s), b = ev.ends_at ? fmtDay(ev.ends_at) : a;
    return a === b ? a : a + ' 〜 ' + b;
  }
  return fmtDate(s) + (ev.ends_at ? ' 〜 ' + fmtDate(ev.ends_at) : '');
}

function body(rec) { return rec[rec.kind] || {}; }

function title(rec) {
  const b = body(rec);
  return b.title || b.name || '(無題)';
}

function chip(text, cls) { return el('span', { class: 'chip ' + (cls || ''), text }); }

const KIND_JA = { case: '事例', event: 'イベント', region: '地域プロファイル' };
const VIS_JA = {
  public: '公開 — ネットワークの全ノードに届き、フィードや CSV で誰でも見られます',
  network: 'ネットワーク内 — 加盟ノードにだけ届きます。公開のフィードには出ません',
  local: 'ローカル — このノードの中だけに置き、どこにも送りません',
};

/* ------------------------------------------------------------------ record cards and page */

function card(rec) {
  const b = body(rec);
  const chips = [chip(KIND_JA[rec.kind] || rec.kind, 'kind-' + rec.kind)];
  if (rec.kind === 'case' && b.industry) chips.push(chip(label('industry', b.industry)));
  if (rec.kind === 'case' && b.dx_level) chips.push(chip(label('dx_level', b.dx_level)));
  for (const s of (b.skills || []).slice(0, 3)) chips.push(chip(label('skills', s)));
  if (rec.kind === 'event' && b.status === 'cancelled') chips.push(chip('中止', 'cancelled'));
  if (rec.visibility && rec.visibility !== 'public') chips.push(chip(label('visibility', rec.visibility), 'vis'));
  const who = rec.provenance && rec.provenance.node ? rec.provenance.node : (rec.author || '').slice(0, 12);
  return el('article', { class: 'card', 'data-id': rec.id },
    el('h3', {}, el('a', { href: '#/record/' + encodeURIComponent(rec.id), text: title(rec) })),
    el('div', { class: 'meta' }, prefName(b.prefecture) + ' ・ 登録: ' + who +
      (rec.kind === 'event' ? ' ・ ' + eventWhen(b) : '')),
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
      if (v) for (const g of f.fields) add(f.label + ' / ' + g.label, fmtValue(g, v[g.k]));
    } else if (f.t === 'objlist') {
      if (v && v.length) add(f.label, v.map((o) => f.fields.map((g) => fmtValue(g, o[g.k])).filter(Boolean).join(' / ')).join('\n'));
    } else if (f.t === 'when') {
      add('日時', eventWhen(b));
    } else {
      add(f.label, fmtValue(f, v));
    }
  }
  return rows;
}

function fmtValue(f, v) {
  if (v === undefined || v === null || v === '') return '';
  if (f.t === 'select' || f.t === 'pref') return f.t === 'pref' ? prefName(v) : label(f.tax, v);
  if (f.t === 'multi') return v.map((x) => label(f.tax, x)).join('、');
  if (f.t === 'prefs') return v.map(prefName).join('、');
  if (f.t === 'list') return v.join('、');
  if (f.t === 'bool') return v ? 'はい' : 'いいえ';
  if (f.t === 'deadline') return fmtDay(v);
  return String(v);
}

async function pageRecord(id) {
  const r = await api('GET', '/v1/records/' + encodeURIComponent(id));
  if (r.status === 410) return show(el('h1', { text: 'このレコードは削除されました' }));
  if (!r.ok) return show(el('h1', { text: 'レコードが見つかりません' }), el('p', { text: errorText(r) }));
  const rec = r.json;
  const p = rec.provenance || {};
  const own = RK.status && rec.author === RK.status.key;
  const actions = el('div', { class: 'actions' });
  if (own) {
    actions.append(el('a', { class: 'button', href: '#/edit/' + encodeURIComponent(rec.id), text: '編集する' }),
      el('button', { class: 'danger', type: 'button', onclick: () => deleteRecord(rec) , text: '削除する' }));
  }
  show(el('div', { class: 'panel' },
    el('div', {}, chip(KIND_JA[rec.kind], 'kind-' + rec.kind), chip(label('visibility', rec.visibility), 'vis'),
      rec.kind === 'event' && body(rec).status === 'cancelled' ? chip('中止', 'cancelled') : null),
    el('h1', { text: title(rec) }),
    el('dl', { class: 'props' }, propRows(rec)),
    actions),
  el('div', { class: 'panel provenance' },
    el('h2', { text: '出所（だれが署名したか）' }),
    el('dl', { class: 'props' },
      el('dt', { text: '署名したノード' }), el('dd', { text: (p.node || '名簿にないノード') }),
      el('dt', { text: 'ノードの公開鍵' }), el('dd', { text: rec.author || '' }),
      el('dt', { text: '登録・更新の日時' }), el('dd', { text: fmtDate(Number(rec.version)) + '（版 ' + rec.version + '）' }),
      el('dt', { text: '最初の登録' }), el('dd', { text: fmtDate(rec.created_at) }),
      el('dt', { text: '検証' }), el('dd', { class: 'verified', text: '検証済み — Ed25519 の署名と名簿をこのノードが受け取ったときに確かめました' }),
      el('dt', { text: 'ハッシュ' }), el('dd', { text: rec.hash || '' }))));
}

async function deleteRecord(rec) {
  if (!window.confirm('「' + title(rec) + '」を削除します。ネットワークの全ノードから消えます。よろしいですか？')) return;
  const r = await api('DELETE', '/v1/records/' + encodeURIComponent(rec.id));
  if (!r.ok) { window.alert('削除できませんでした: ' + errorText(r)); return; }
  flash('削除しました。');
  location.hash = '#/';
}

/* A message for the next page shown (after a change of the hash). */
function flash(text) { RK.flash = text; }

/* ------------------------------------------------------------------ search and browse */

function selectOf(name, tax, first, value) {
  const s = el('select', { name }, el('option', { value: '', text: first }));
  for (const c of (RK.codes[tax] || [])) s.append(el('option', { value: c.code, text: c.label_ja + (tax === 'prefecture' ? '' : '（' + c.code + '）') }));
  s.value = value || '';
  return s;
}

async function pageSearch(params) {
  const q = el('input', { type: 'search', name: 'q', class: 'wide', placeholder: '例: ロボット、リスキリング、石川', value: params.get('q') || '' });
  const kind = el('select', { name: 'kind' }, el('option', { value: '', text: 'すべて' }),
    ...Object.entries(KIND_JA).map(([k, v]) => el('option', { value: k, text: v })));
  kind.value = params.get('kind') || '';
  const fields = [['prefecture', '都道府県', 'prefecture'], ['industry', '業種', 'industry'], ['dx_level', 'DXの段階', 'dx_level'], ['skill', 'スキル', 'skills']];
  const sels = fields.map(([n, l, t]) => [n, l, selectOf(n, t, 'すべて', params.get(n))]);
  const form = el('form', { class: 'panel', role: 'search' },
    el('label', { class: 'field' }, el('span', { class: 'label', text: 'キーワード（日本語・英語）' }), q),
    el('div', { class: 'filters' },
      el('label', {}, '種類', kind),
      ...sels.map(([, l, s]) => el('label', {}, l, s)),
      el('button', { type: 'submit', text: '検索' })));
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
  show(el('h1', { text: '事例・イベント・地域を探す' }), form, count, results);
  const u = new URLSearchParams(params);
  u.set('limit', '60');
  const r = await api('GET', '/v1/records?' + u.toString());
  if (!r.ok) { count.textContent = errorText(r); return; }
  const recs = r.json.records || [];
  count.textContent = recs.length ? recs.length + (r.json.next_cursor ? ' 件以上' : ' 件') + '見つかりました' : '見つかりませんでした。キーワードや条件を変えてみてください。';
  results.replaceChildren(...recs.map(card));
}

/* ------------------------------------------------------------------ forms */

/* The fields of each record kind (proto/renkei.proto), in the order a coordinator fills them in. t:
 * text, area, url, email, number, bool, select (one code of tax), multi (codes of tax), pref, prefs,
 * list (one string per line), month (a YYYY-MM period), deadline (a day), when (an event's dates),
 * group (a nested message), objlist (a repeated message, one per line with " / " between fields). */
const CONTACT = { k: 'contact', t: 'group', label: '連絡先', fields: [
  { k: 'name', t: 'text', label: '担当者名' }, { k: 'organisation', t: 'text', label: '所属' },
  { k: 'email', t: 'email', label: 'メール' }, { k: 'phone', t: 'text', label: '電話' }, { k: 'url', t: 'url', label: 'URL' }] };

const FORMS = {
  case: [
    { k: 'title', t: 'text', label: 'タイトル', req: true },
    { k: 'summary', t: 'area', label: '概要', req: true },
    { k: 'prefecture', t: 'pref', label: '都道府県', req: true },
    { k: 'municipality', t: 'text', label: '市区町村コード', hint: '全国地方公共団体コード（5桁か6桁。例: 17206）' },
    { k: 'place_name', t: 'text', label: '地名', hint: '例: 加賀市' },
    { k: 'industry', t: 'select', tax: 'industry', label: '業種', req: true },
    { k: 'dx_level', t: 'select', tax: 'dx_level', label: 'DXの段階', req: true },
    { k: 'case_kind', t: 'select', tax: 'case_kind', label: '事例の種類' },
    { k: 'organisation', t: 'group', label: '組織', fields: [
      { k: 'name', t: 'text', label: '名前', hint: '企業名を出さない場合は空けて「匿名」に印' },
      { k: 'anonymised', t: 'bool', label: '匿名で共有する' },
      { k: 'org_type', t: 'select', tax: 'org_type', label: '組織の種類' },
      { k: 'employees', t: 'number', label: '従業員数' },
      { k: 'size_band', t: 'select', tax: 'size_band', label: '規模' }] },
    { k: 'challenge', t: 'area', label: '課題' },
    { k: 'initiative', t: 'area', label: '取組' },
    { k: 'skills', t: 'multi', tax: 'skills', label: 'スキル' },
    { k: 'technologies', t: 'list', label: '技術', hint: '1行に1つ（例: ドローン）' },
    { k: 'reskilling_type', t: 'select', tax: 'reskilling_type', label: 'リスキリングの型' },
    { k: 'target_layers', t: 'multi', tax: 'audience', label: '対象の層' },
    { k: 'digital_stage', t: 'select', tax: 'digital_stage', label: 'デジタル化の段階' },
    { k: 'process_step', t: 'select', tax: 'process_step', label: 'DX推進のステップ' },
    { k: 'dx_roles', t: 'multi', tax: 'dx_roles', label: 'DX推進の人材類型' },
    { k: 'support_types', t: 'multi', tax: 'support_types', label: '支援の種類' },
    { k: 'support_organisations', t: 'list', label: '支援機関', hint: '1行に1つ' },
    { k: 'funding', t: 'list', label: '財源・補助金', hint: '1行に1つ' },
    { k: 'results', t: 'objlist', label: '成果（数値）', hint: '1行に1つ: 指標 / 値 / 単位 / 基準値 / 期間（例: 検査時間 / 30 / 分 / 120 / 2023年度）', fields: [
      { k: 'metric', t: 'text', label: '指標' }, { k: 'value', t: 'number', label: '値' }, { k: 'unit', t: 'text', label: '単位' },
      { k: 'baseline', t: 'number', label: '基準値' }, { k: 'period', t: 'text', label: '期間' }] },
    { k: 'lessons', t: 'area', label: '学び' },
    { k: 'failures', t: 'area', label: 'うまくいかなかったこと' },
    { k: 'period', t: 'group', label: '期間', fields: [
      { k: 'start', t: 'month', label: '開始（年月）' }, { k: 'end', t: 'month', label: '終了（年月）' },
      { k: 'fiscal_year', t: 'text', label: '年度', hint: '4桁の西暦（例: 2023 は 2023年4月〜2024年3月）' }] },
    { k: 'spread', t: 'group', label: '横展開', fields: [
      { k: 'status', t: 'select', tax: 'spread_status', label: '状況' },
      { k: 'adopted_by', t: 'list', label: '取り入れた地域', hint: '1行に1つ' }] },
    { k: 'sources', t: 'objlist', label: '出典', hint: '1行に1つ: 題名 / URL', fields: [
      { k: 'title', t: 'text', label: '題名' }, { k: 'url', t: 'url', label: 'URL' }] },
    CONTACT,
    { k: 'tags', t: 'list', label: 'タグ', hint: '1行に1つ' },
  ],
  event: [
    { k: 'title', t: 'text', label: 'タイトル', req: true },
    { k: 'event_type', t: 'select', tax: 'event_type', label: '種類', req: true },
    { k: 'summary', t: 'area', label: '概要' },
    { k: 'when', t: 'when', label: '日時', req: true },
    { k: 'format', t: 'select', tax: 'format', label: '開催形式', req: true },
    { k: 'prefecture', t: 'pref', label: '都道府県', req: true },
    { k: 'venue', t: 'group', label: '会場', fields: [
      { k: 'name', t: 'text', label: '会場名' }, { k: 'address', t: 'text', label: '住所' },
      { k: 'prefecture', t: 'pref', label: '会場の都道府県' }] },
    { k: 'online_platform', t: 'text', label: 'オンラインの手段', hint: '例: Zoom' },
    { k: 'organiser', t: 'text', label: '主催' },
    { k: 'co_organisers', t: 'list', label: '共催', hint: '1行に1つ' },
    { k: 'regions', t: 'prefs', label: '参加する都道府県' },
    { k: 'open_scope', t: 'select', tax: 'open_scope', label: '参加できる範囲' },
    { k: 'audience', t: 'multi', tax: 'audience', label: '対象' },
    { k: 'skills', t: 'multi', tax: 'skills', label: 'スキル' },
    { k: 'dx_level_fit', t: 'select', tax: 'dx_level_fit', label: '向いている段階' },
    { k: 'capacity', t: 'number', label: '定員' },
    { k: 'fee_yen', t: 'number', label: '参加費（円）', hint: '無料なら 0' },
    { k: 'application_url', t: 'url', label: '申込URL' },
    { k: 'application_deadline', t: 'deadline', label: '申込締切' },
    { k: 'subsidy_eligible', t: 'bool', label: '補助金の対象' },
    { k: 'recurrence', t: 'select', tax: 'recurrence', label: '繰り返し' },
    { k: 'agenda', t: 'objlist', label: 'プログラム', hint: '1行に1つ: 開始 / 終了 / 内容 / 登壇者（例: 13:00 / 13:30 / 基調講演 / 山田）', fields: [
      { k: 'starts_at', t: 'text', label: '開始' }, { k: 'ends_at', t: 'text', label: '終了' },
      { k: 'title', t: 'text', label: '内容' }, { k: 'speaker', t: 'text', label: '登壇者' }] },
    { k: 'speakers', t: 'objlist', label: '登壇者', hint: '1行に1人: 名前 / 所属', fields: [
      { k: 'name', t: 'text', label: '名前' }, { k: 'affiliation', t: 'text', label: '所属' }] },
    { k: 'status', t: 'select', tax: 'status', label: '状態', hint: '中止にしたイベントは「中止」にすると、カレンダーで取り消し線つきになります' },
    CONTACT,
    { k: 'tags', t: 'list', label: 'タグ', hint: '1行に1つ' },
  ],
  region: [
    { k: 'name', t: 'text', label: '名前', req: true, hint: '例: 北見市' },
    { k: 'node_kind', t: 'select', tax: 'node_kind', label: 'ノードの種類', req: true },
    { k: 'prefecture', t: 'pref', label: '都道府県' },
    { k: 'municipality', t: 'text', label: '市区町村コード' },
    { k: 'coordinating_organisation', t: 'text', label: '推進する組織' },
    { k: 'key_industries', t: 'multi', tax: 'industry', label: '主な産業' },
    { k: 'issues', t: 'list', label: '地域の課題', hint: '1行に1つ（例: 少子高齢化）' },
    { k: 'attractions', t: 'list', label: '地域の資源', hint: '1行に1つ（産業、特産品、観光資源など）' },
    { k: 'summary', t: 'area', label: '紹介' },
    { k: 'website', t: 'url', label: 'ウェブサイト' },
    CONTACT,
  ],
};

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
      node = selectOf(path, f.t === 'pref' ? 'prefecture' : f.tax, '選んでください');
      node.id = id;
      get = () => node.value || undefined;
      set = (v) => { node.value = v || ''; };
      break;
    case 'multi': case 'prefs': {
      const tax = f.t === 'prefs' ? 'prefecture' : f.tax;
      const boxes = (RK.codes[tax] || []).map((c) => el('label', {}, el('input', { type: 'checkbox', value: c.code, name: path }), ' ' + c.label_ja));
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
      node = el('fieldset', { 'data-path': path }, el('legend', { text: f.label }), parts.map((p) => p.node));
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
    ...['time', 'day', 'month', 'fiscal_year'].map((c) => el('option', { value: c, text: label('date_precision', c) + ({ time: '（日付と時刻）', day: '（終日）', month: '（何月かだけ決まっている）', fiscal_year: '（何年度かだけ決まっている）' })[c] })));
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
    el('label', {}, '日付の決まり方: ', prec),
    el('div', { class: 'hint', text: '終了を空けると、開始と同じ日（月・年度）の終わりまでになります。' }),
    el('div', {}, '開始 ', startBox, '　終了 ', endBox));
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
    ? el('span', { class: 'label' }, f.label, f.req ? el('span', { class: 'req', text: '必須' }) : null)
    : el('label', { for: inp.id }, f.label, f.req ? el('span', { class: 'req', text: '必須' }) : null);
  const node = el('div', { class: 'field', 'data-path': path }, lab, f.hint ? el('div', { class: 'hint', text: f.hint }) : null, inp.node, err);
  return { node, get: inp.get, set: inp.set, when: inp.when };
}

async function pageForm(kind, id) {
  let rec = null;
  if (id) {
    const r = await api('GET', '/v1/records/' + encodeURIComponent(id));
    if (!r.ok) return show(el('h1', { text: 'レコードが見つかりません' }), el('p', { text: errorText(r) }));
    rec = r.json;
    kind = rec.kind;
  } else if (kind === 'region') {
    /* the node's own profile, if it has one, is edited rather than published twice */
    const r = await api('GET', '/v1/records?kind=region&author=' + encodeURIComponent(RK.status.key) + '&limit=1');
    if (r.ok && r.json.records && r.json.records.length) { location.hash = '#/edit/' + encodeURIComponent(r.json.records[0].id); return; }
  }
  const specs = FORMS[kind];
  if (!specs) return show(el('h1', { text: '不明な種類です' }));
  const blocks = specs.map((f) => [f, fieldBlock(f, kind + '.' + f.k)]);
  const vis = el('div', { class: 'field', 'data-path': 'visibility' }, el('span', { class: 'label', text: '公開範囲' }),
    ...['public', 'network', 'local'].map((v) => el('label', { class: 'vis-choice' },
      el('input', { type: 'radio', name: 'visibility', value: v }), ' ', VIS_JA[v]), el('br')),
    el('div', { class: 'error', 'data-error-for': 'visibility' }));
  const summary = el('div', { class: 'errors-summary hidden', role: 'alert', id: 'errors' });
  const submit = el('button', { type: 'submit', id: 'submit', text: rec ? '更新する' : '登録する' });
  const form = el('form', { class: 'panel', novalidate: true, id: 'record-form', 'data-kind': kind }, summary, blocks.map(([, b]) => b.node), vis,
    el('div', { class: 'actions' }, submit, rec ? el('a', { class: 'button secondary', href: '#/record/' + encodeURIComponent(rec.id), text: 'やめる' }) : null));
  const setVis = (v) => { for (const r of vis.querySelectorAll('input')) r.checked = r.value === v; };
  setVis(rec ? rec.visibility : 'public');
  if (rec) {
    const b = body(rec);
    for (const [f, blk] of blocks) blk.set(f.t === 'when' ? b : b[f.k]);
  }
  const tabs = el('div', { class: 'actions' }, ...Object.entries(KIND_JA).map(([k, v]) =>
    el('a', { class: 'button' + (k === kind ? '' : ' secondary'), href: '#/new/' + k, text: v })));
  show(el('h1', { text: rec ? '「' + title(rec) + '」を編集' : KIND_JA[kind] + 'を登録' }), rec ? null : tabs,
    el('p', { class: 'hint', text: '「必須」の項目を埋めて登録してください。コードの代わりに日本語の選択肢から選べます。登録すると、このノードの鍵で署名されてネットワークに届きます。' }), form);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const out = {};
    for (const [f, blk] of blocks) {
      const v = blk.get();
      if (f.t === 'when') { for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = x; } else if (v !== undefined) out[f.k] = v;
    }
    const vv = vis.querySelector('input:checked');
    const payload = { kind, visibility: vv ? vv.value : 'public' };
    payload[kind] = out;
    if (rec) payload.rid = rec.rid;
    submit.disabled = true;
    const r = rec ? await api('PUT', '/v1/records/' + encodeURIComponent(rec.id), payload) : await api('POST', '/v1/records', payload);
    submit.disabled = false;
    if (r.ok) {
      const newId = r.json.id || (rec && rec.id);
      flash(rec ? '更新しました（新しい版 ' + r.json.version + '）。' : '登録しました。');
      location.hash = '#/record/' + encodeURIComponent(newId);
      return;
    }
    showErrors(form, summary, r);
  });
}

/* Puts every problem of error.details at its field, in Japanese; the rest in the summary. */
function showErrors(form, summary, r) {
  for (const n of form.querySelectorAll('.has-error')) n.classList.remove('has-error');
  for (const n of form.querySelectorAll('.error')) n.textContent = '';
  const e = (r.json && r.json.error) || {};
  const details = e.details && e.details.length ? e.details : [{ field: e.field, message_ja: e.message, code: e.code || 'HTTP ' + r.status }];
  const loose = [];
  for (const d of details) {
    const box = findField(form, d.field || '');
    /* the message names the field by its path (case.title): in the form, by its label */
    const name = box && box.querySelector('.label, label') ? box.querySelector('.label, label').firstChild.textContent : '';
    let msg = d.message_ja || d.message || '';
    if (name && d.field) msg = msg.split(d.field).join('「' + name + '」');
    const text = msg + (d.suggestion ? '（候補: ' + label(fieldTax(d.field), d.suggestion) + '）' : '') + ' [' + d.code + ']';
    if (box) {
      box.classList.add('has-error');
      const line = box.querySelector(':scope > .error') || box.querySelector('.error');
      line.textContent = (line.textContent ? line.textContent + ' ' : '') + text;
    } else {
      loose.push(text);
    }
  }
  summary.replaceChildren(el('strong', { text: details.length + ' 件の誤りがあります。各項目の赤い説明を見て直してください。何も登録していません。' }));
  if (loose.length) summary.append(el('ul', {}, loose.map((t) => el('li', { text: t }))));
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
  for (const d of ['日', '月', '火', '水', '木', '金', '土']) cal.append(el('div', { class: 'dow', text: d }));
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
    const link = () => el('a', { class: 'ev' + (cancelled ? ' cancelled' : ''), href: '#/record/' + encodeURIComponent(rec.id), title: ev.title, text: (cancelled ? '【中止】' : '') + ev.title });
    if (ev.date_precision === 'month' || ev.date_precision === 'fiscal_year') {
      monthOnly.append(el('li', {}, link(), ' — ' + eventWhen(ev)));
      continue;
    }
    const s = jstDay(ev.starts_at), e = jstDay(ev.ends_at || ev.starts_at);
    for (const [k, cell] of Object.entries(cells)) if (k >= s && k <= e) cell.append(link());
  }
  const list = el('div', { class: 'cards', id: 'upcoming' }, ...(upR.ok ? upR.json.events : []).map(card));
  show(el('h1', { text: 'イベント' }),
    el('div', { class: 'panel' },
      el('div', { class: 'calnav' },
        el('a', { class: 'button secondary', href: '#/events?month=' + prev, text: '← 前の月' }),
        el('h2', { id: 'cal-title', text: y + '年' + m + '月' }),
        el('a', { class: 'button secondary', href: '#/events?month=' + next, text: '次の月 →' }),
        el('a', { class: 'button', href: '#/new/event', text: 'イベントを登録' })),
      cal,
      monthOnly.children.length ? el('div', {}, el('h2', { text: 'この月のうちに開く予定（日にちは未定）' }), monthOnly) : null),
    el('h2', { text: 'これからのイベント（近い順）' }),
    list.children.length ? list : el('p', { class: 'meta', text: '予定されているイベントはありません。' }));
}

/* ------------------------------------------------------------------ regions, network, national */

async function pageRegions() {
  const j = await getJSON('/v1/regions');
  const regions = j.regions || j;
  const cards = (Array.isArray(regions) ? regions : []).map((r) => el('article', { class: 'card' },
    el('h3', {}, r.profile_id ? el('a', { href: '#/record/' + encodeURIComponent(r.profile_id), text: r.name || r.roster_name }) : (r.name || r.roster_name || '')),
    el('div', { class: 'meta', text: r.profile_id ? (r.prefecture_name || prefName(r.prefecture)) + (r.kind ? ' ・ ' + label('node_kind', r.kind) : '')
      : '地域プロファイルは未登録（名簿での名前: ' + (r.roster_name || r.name || '') + '）' }),
    r.coordinating_organisation ? el('div', { text: '推進: ' + r.coordinating_organisation }) : null,
    el('div', { class: 'meta', text: 'レコード ' + r.records + ' 件' + (r.last_record_version ? ' ・ 最終更新 ' + fmtDate(r.last_record_version) : '') }),
    r.website ? el('a', { href: r.website, rel: 'noopener noreferrer', text: r.website }) : null,
    el('a', { href: '#/?author=' + encodeURIComponent(r.key), text: 'この地域のレコードを見る' })));
  show(el('h1', { text: '地域（ネットワークのノード）' }),
    el('p', {}, el('a', { class: 'button', href: '#/new/region', text: 'このノードの地域プロファイルを編集' })),
    cards.length ? el('div', { class: 'cards', id: 'regions' }, cards) : el('p', { text: 'まだ地域の情報はありません。' }));
}

const STATE_JA = { connected: '接続中', connecting: '接続を試行中', idle: '待機', failed: '失敗', disconnected: '切断', backoff: '再接続待ち', listening: '相手からの接続待ち' };

async function pageNetwork() {
  const [peers, st] = await Promise.all([getJSON('/v1/peers'), getJSON('/v1/status')]);
  const rows = (peers.peers || []).map((p) => {
    const rej = Object.entries(p.rejections || {}).filter(([, n]) => n > 0);
    return el('tr', {},
      el('td', {}, el('strong', { text: p.name || '' }), el('div', { class: 'meta', text: (p.key || '').slice(0, 16) + '…' })),
      el('td', { class: 'state-' + p.state, text: (STATE_JA[p.state] || p.state) + '（' + p.state + '）' }),
      el('td', { text: p.last_sync ? fmtDate(p.last_sync) : 'まだ' }),
      el('td', { text: '送 ' + (p.records_sent || 0) + ' / 受 ' + (p.records_received || 0) }),
      el('td', { class: rej.length ? 'state-rejected' : '', text: rej.length ? rej.map(([k, n]) => k + ': ' + n).join('、') : 'なし' }),
      el('td', { class: 'meta', text: p.url || '（相手から接続）' }));
  });
  const r = st.records || {};
  show(el('h1', { text: 'ネットワーク' }),
    el('div', { class: 'panel' },
      el('h2', { text: 'このノード' }),
      el('dl', { class: 'props' },
        el('dt', { text: '名前' }), el('dd', { text: st.name }),
        el('dt', { text: '種類・都道府県' }), el('dd', { text: label('node_kind', st.kind) + ' ・ ' + prefName(st.prefecture) }),
        el('dt', { text: 'レコード' }), el('dd', { text: '合計 ' + r.total + '（事例 ' + r.case + '、イベント ' + r.event + '、地域 ' + r.region + '）' }),
        el('dt', { text: '公開鍵' }), el('dd', { text: st.key }),
        el('dt', { text: '稼働時間' }), el('dd', { text: Math.floor(st.uptime_s / 3600) + ' 時間 ' + Math.floor((st.uptime_s % 3600) / 60) + ' 分' }))),
    el('h2', { text: 'ピア（同期の相手）' }),
    el('p', { class: 'hint', text: '「最後の同期」が古いピアや、拒否が増えているピアがあれば、そのノードの運用者に連絡してください。' }),
    rows.length ? el('table', { id: 'peers' }, el('thead', {}, el('tr', {}, ['ピア', '状態', '最後の同期', 'レコード', '拒否（理由: 件数）', 'URL'].map((h) => el('th', { text: h })))), el('tbody', {}, rows))
      : el('p', { text: 'ピアは設定されていません。' }));
}

/* The tiles of the 47 prefectures, [column, row] on a 13-column map of Japan. */
const PREF_TILES = { '01': [13, 1], '02': [13, 2], '05': [12, 3], '03': [13, 3], '06': [12, 4], '04': [13, 4], 17: [10, 5], 16: [11, 5],
  15: [12, 5], '07': [13, 5], 18: [9, 6], 21: [10, 6], 20: [11, 6], 10: [12, 6], '09': [13, 6], 32: [5, 7], 31: [6, 7], 28: [7, 7],
  26: [8, 7], 25: [9, 7], 19: [11, 7], 11: [12, 7], '08': [13, 7], 35: [4, 8], 34: [5, 8], 33: [6, 8], 27: [7, 8], 29: [8, 8],
  24: [9, 8], 23: [10, 8], 22: [11, 8], 13: [12, 8], 12: [13, 8], 30: [8, 9], 14: [12, 9], 41: [2, 9], 40: [3, 9], 38: [5, 10],
  37: [6, 10], 39: [5, 11], 36: [6, 11], 42: [1, 10], 43: [2, 10], 44: [3, 10], 46: [2, 11], 45: [3, 11], 47: [1, 13] };

function bars(obj, tax) {
  const entries = Object.entries(obj || {}).filter(([k, n]) => k !== 'unknown' && n > 0).sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...entries.map(([, n]) => n));
  if (!entries.length) return el('p', { class: 'meta', text: 'まだありません。' });
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
    const t = el('div', { class: 'pref l' + lvl, 'data-pref': p.code, title: p.name + ': 事例 ' + p.case + '、イベント ' + p.event + '、地域 ' + p.region },
      el('b', { class: 'count', text: p.total }), el('span', { text: p.name.replace(/[都府県]$/, '') }));
    if (pos) { t.style.gridColumn = pos[0]; t.style.gridRow = pos[1]; }
    grid.append(t);
  }
  const k = s.by_kind || {};
  show(el('h1', { text: '全国の状況' }),
    el('p', { class: 'meta', text: 'このノードが持つ公開・ネットワーク内のレコード ' + s.total + ' 件（事例 ' + (k.case || 0) + '、イベント ' + (k.event || 0) + '、地域 ' + (k.region || 0) + '）。' + fmtDate(s.generated_at) + ' 時点。' }),
    el('div', { class: 'panel' }, el('h2', { text: '都道府県別のレコード数' }), grid),
    el('div', { class: 'panel' }, el('h2', { text: '業種別（事例）' }), bars(s.by_industry, 'industry')),
    el('div', { class: 'panel' }, el('h2', { text: 'DXの段階別（事例）' }), bars(s.by_dx_level, 'dx_level')),
    el('div', { class: 'panel' }, el('h2', { text: 'スキル別（事例とイベント）' }), bars(s.by_skill, 'skills')));
}

/* ------------------------------------------------------------------ routing */

async function route() {
  const h = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = h.split('?');
  const params = new URLSearchParams(qs || '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const section = { record: 'search', new: 'new', edit: 'new', events: 'events', regions: 'regions', network: 'network', national: 'national' }[parts[0]] || 'search';
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('on', a.dataset.nav === section);
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
    if (String(e.message) !== 'no session') show(el('h1', { text: '読み込めませんでした' }), el('p', { text: String(e.message) }));
  }
}

async function start() {
  const [sess, codes, status] = await Promise.all([api('GET', '/v1/web/session'), api('GET', '/v1/codes'), api('GET', '/v1/status')]);
  if (!sess.ok || !codes.ok || !status.ok) return;
  RK.csrf = sess.json.csrf;
  RK.codes = codes.json;
  RK.status = status.json;
  document.getElementById('node').textContent = 'ノード: ' + status.json.name + '（' + prefName(status.json.prefecture) + '）';
  window.addEventListener('hashchange', route);
  route();
}

start();
