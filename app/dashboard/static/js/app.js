/* The dashboard: 全省总览 at /dashboard/, 城市 at /dashboard/city/{code}. Every figure is
   an answer of the public API, shown as the API gives it. The page keeps it current through
   the live change stream: each event re-asks the views (conditionally, with their ETags);
   while the stream is down it polls every second instead. */
(function () {
  'use strict';

  const SB = window.SB;
  const ui = SB.ui;
  const api = SB.api;
  const h = ui.h;
  const byId = ui.byId;
  const POLL_MS = 1000; // until the stream is up, and whenever it is down
  // Beside the stream: what no event announces (the events registry, contacts and reports,
  // a deadline passing) still shows within this long.
  const BESIDE_STREAM_MS = 10000;
  const LIST_EVERY_TICKS = 5; // lists without ETags (cases, urgent reports): every 5 ticks
  const CASE_EVENT = /^(case|urgent)\./;
  const VIEW_EVENT = /^(snapshot|period|deadline)\./;
  const CASES_LIMIT = 1000;
  const URGENT_LIMIT = 20;
  const ROLE_NAMES = { viewer: '查看者', reviewer: '审核员', admin: '管理员', reporter: '城市报送' };

  const state = {
    route: parseRoute(),
    query: readQuery(),
    meta: null,
    resources: {},
    poller: null,
    stream: null,
    live: null, // 'stream' or 'polling'
    painted: false,
    renders: 0,
    expiryTimer: null,
    connected: null,
    chartIndicator: {},
  };
  let metaReady = null;

  /* Addresses */

  function parseRoute() {
    const match = /^\/dashboard\/city\/(\d{6})\/?$/.exec(location.pathname);
    return match ? { page: 'city', city: match[1] } : { page: 'overview', city: null };
  }

  function validInstant(value) {
    return value && !Number.isNaN(Date.parse(value)) ? value : '';
  }

  function readQuery() {
    const query = new URLSearchParams(location.search);
    const period = query.get('period') || '';
    return {
      campaign: /^[a-z0-9][a-z0-9-]{1,31}$/.test(query.get('campaign') || '') ? query.get('campaign') : '',
      period: /^W\d{2}$/.test(period) ? period : '',
      as_of: validInstant(query.get('as_of')),
      at: validInstant(query.get('at')),
    };
  }

  function pageUrl(route, query) {
    const path = route.page === 'city' ? '/dashboard/city/' + route.city : '/dashboard/';
    const params = new URLSearchParams();
    for (const key of ['campaign', 'period', 'as_of', 'at']) if (query[key]) params.set(key, query[key]);
    const text = params.toString();
    return path + (text ? '?' + text : '');
  }

  function qs(params) {
    const search = new URLSearchParams();
    for (const key of Object.keys(params)) {
      const value = params[key];
      if (value !== null && value !== undefined && value !== '') search.set(key, String(value));
    }
    const text = search.toString();
    return text ? '?' + text : '';
  }

  /* Reference data (public): the campaign, its periods, the names of its cities. */

  function chooseCampaign(campaigns) {
    if (!campaigns.length) throw new Error('no campaign is loaded');
    const today = new Date().toISOString().slice(0, 10);
    const running = campaigns.filter((c) => c.start <= today && today <= c.end);
    if (running.length) return running[0].id;
    return campaigns.slice().sort((a, b) => (a.start < b.start ? 1 : -1))[0].id;
  }

  // The campaign's own words (its vocabularies): id -> Chinese label.
  function labels(terms) {
    const found = {};
    for (const term of terms) found[term.id] = term.name_zh;
    return found;
  }

  async function loadMeta() {
    let campaign = state.query.campaign;
    if (!campaign) campaign = chooseCampaign((await api.get('/campaigns', { auth: false })).data);
    const path = '/campaigns/' + encodeURIComponent(campaign);
    const [definition, periods, regions] = await Promise.all([
      api.get(path, { auth: false }),
      api.get(path + '/periods', { auth: false }),
      api.get('/regions' + qs({ level: 'city', limit: 1000 }), { auth: false }),
    ]);
    const names = {};
    for (const region of regions.data) names[region.code] = region.name;
    const def = definition.data;
    const order = {};
    periods.data.forEach((p, i) => {
      order[p.id] = i;
    });
    return {
      campaign: campaign,
      path: path,
      definition: def,
      zone: def.timezone,
      periods: periods.data,
      order: order,
      units: def.reporting_units,
      names: names,
      activities: labels(def.vocabularies ? def.vocabularies.case_activities : []),
    };
  }

  function cityName(code) {
    return (state.meta && state.meta.names[code]) || code;
  }

  function deliverableName(id) {
    const found = state.meta.definition.deliverables.find((d) => d.id === id);
    return found ? found.name_zh : id;
  }

  /* The judging instant (`at`, default now), the week in focus and the one before. */
  function judgingInstant() {
    return state.query.at ? Date.parse(state.query.at) : Date.now();
  }

  function currentPeriod() {
    const day = ui.zoned(judgingInstant(), state.meta.zone).date;
    let chosen = state.meta.periods[0];
    for (const period of state.meta.periods) if (period.start <= day) chosen = period;
    return chosen.id;
  }

  function focusPeriod() {
    const chosen = state.query.period;
    return chosen && chosen in state.meta.order ? chosen : currentPeriod();
  }

  function previousPeriod(id) {
    const index = state.meta.order[id];
    return index > 0 ? state.meta.periods[index - 1].id : null;
  }

  function periodById(id) {
    return state.meta.periods.find((p) => p.id === id);
  }

  function periodLabel(id) {
    const period = periodById(id);
    return period ? id + '（' + period.start.slice(5) + '—' + period.end.slice(5) + '）' : id;
  }

  function scopeText() {
    const zone = state.meta.zone;
    return [
      '周次 ' + periodLabel(focusPeriod()) + (state.query.period ? '' : '（当前周）'),
      '数据截至 ' + (state.query.as_of ? ui.localTime(state.query.as_of, zone) : '现在'),
      '评判时点 ' + (state.query.at ? ui.localTime(state.query.at, zone) : '现在'),
      '时区 ' + zone,
    ].join(' · ');
  }

  /* The page's frame: title, navigation, controls. */

  function setupFrame() {
    const meta = state.meta;
    const title = meta.definition.name_zh + ' · 进度看板';
    ui.setText('title', title);
    document.title = (state.route.page === 'city' ? cityName(state.route.city) + ' · ' : '') + title;
    ui.setText('subtitle', (meta.definition.theme_zh || '') + ' · 数据来自报送服务公开接口');

    const citySelect = byId('city-select');
    for (const code of meta.units) {
      citySelect.append(h('option', { value: code, selected: code === state.route.city }, cityName(code)));
    }
    const periodSelect = byId('period-select');
    periodSelect.firstElementChild.textContent = '当前周（' + currentPeriod() + '）';
    for (const period of meta.periods) {
      periodSelect.append(h('option', { value: period.id }, periodLabel(period.id)));
    }
    const overviewLink = byId('nav-overview');
    overviewLink.href = pageUrl({ page: 'overview' }, state.query);
    if (state.route.page === 'overview') overviewLink.setAttribute('aria-current', 'page');
    syncControls();
  }

  function syncControls() {
    const zone = state.meta.zone;
    byId('period-select').value = state.query.period;
    byId('as-of').value = ui.localInputValue(state.query.as_of, zone);
    byId('at').value = ui.localInputValue(state.query.at, zone);
    byId('nav-overview').href = pageUrl({ page: 'overview' }, state.query);
    ui.setText(state.route.page === 'city' ? 'city-scope' : 'overview-scope', scopeText());
  }

  function applyControls() {
    const zone = state.meta.zone;
    const query = Object.assign({}, state.query, {
      period: byId('period-select').value,
      as_of: ui.instantFromLocal(byId('as-of').value, zone),
      at: ui.instantFromLocal(byId('at').value, zone),
    });
    navigate(state.route, query);
  }

  function navigate(route, query) {
    const url = pageUrl(route, query);
    if (route.page !== state.route.page || route.city !== state.route.city) {
      location.assign(url); // another page: a fresh load (its scripts are cached)
      return;
    }
    history.pushState(null, '', url);
    state.query = query;
    syncControls();
    startData();
  }

  /* Sign-in and the session */

  function showSignIn(message) {
    stopData();
    if (state.expiryTimer !== null) clearTimeout(state.expiryTimer);
    state.expiryTimer = null;
    for (const id of ['overview', 'city', 'controls']) byId(id).hidden = true;
    byId('sign-out').hidden = true;
    ui.setText('who', '');
    setConnected(null);
    byId('signin-panel').hidden = false;
    ui.setText('signin-message', message || '');
    byId('client-id').focus();
  }

  function showSession(session) {
    const role = ROLE_NAMES[session.role] || session.role || '';
    const city = session.city ? ' · ' + cityName(session.city) : '';
    ui.setText('who', role + city + ' · ' + session.clientId);
    byId('sign-out').hidden = false;
    if (state.expiryTimer !== null) clearTimeout(state.expiryTimer);
    state.expiryTimer = setTimeout(
      () => showSignIn('登录已过期，请重新登录。'),
      Math.max(0, session.expiresAt - Date.now())
    );
  }

  function showPage() {
    byId('signin-panel').hidden = true;
    byId('controls').hidden = false;
    byId('overview').hidden = state.route.page !== 'overview';
    byId('city').hidden = state.route.page !== 'city';
  }

  async function submitSignIn(event) {
    event.preventDefault();
    const id = byId('client-id').value.trim();
    const secret = byId('client-secret').value;
    const button = byId('signin-submit');
    button.disabled = true;
    ui.setText('signin-message', '正在登录…');
    try {
      const session = await api.signIn(id, secret);
      byId('client-secret').value = '';
      ui.setText('signin-message', '');
      await metaReady;
      showSession(session);
      showPage();
      startData();
      byId('main').focus();
    } catch (error) {
      let message = '登录失败：' + (error.detail || error.message);
      if (error.status === 400 || error.status === 401) message = '客户端 ID 或密钥不正确，或该客户端已停用。';
      if (error.status === 429) message = '尝试次数过多，请稍后再试。';
      ui.setText('signin-message', message);
    } finally {
      button.disabled = false;
    }
  }

  function signOut() {
    api.signOut();
    showSignIn('已退出登录。');
  }

  /* Data: the resources of the page, refreshed when the stream announces a change */

  function stopData() {
    if (state.poller) state.poller.stop();
    if (state.stream) state.stream.stop();
    state.poller = null;
    state.stream = null;
    state.live = null;
    delete document.documentElement.dataset.live;
  }

  function startData() {
    stopData();
    const meta = state.meta;
    const q = state.query;
    const c = meta.path;
    const goal = meta.definition.goals.postings;
    const R = api.Resource;
    if (state.route.page === 'overview') {
      state.resources = {
        goals: new R(c + '/goals' + qs({ as_of: q.as_of, at: q.at })),
        deltas: new R(c + '/deltas' + qs({ table: goal.table, indicator: goal.indicator, as_of: q.as_of })),
        compliance: new R(c + '/compliance' + qs({ as_of: q.as_of, at: q.at })),
        urgent: new R(c + '/urgent' + qs({ limit: URGENT_LIMIT }), {
          conditional: false,
          everyTicks: LIST_EVERY_TICKS,
        }),
      };
    } else {
      const city = state.route.city;
      state.resources = {
        goals: new R(c + '/goals' + qs({ city: city, as_of: q.as_of, at: q.at })),
        deltas: new R(c + '/deltas' + qs({ city: city, as_of: q.as_of })),
        compliance: new R(c + '/compliance' + qs({ city: city, as_of: q.as_of, at: q.at })),
        cases: new R(c + '/cities/' + city + '/cases' + qs({ limit: CASES_LIMIT }), {
          conditional: false,
          everyTicks: LIST_EVERY_TICKS,
        }),
      };
    }
    if (state.route.page === 'overview') renderFocusDependent();
    state.poller = new api.Poller(Object.values(state.resources), onChange, onStatus, POLL_MS);
    state.poller.start();
    state.stream = new api.ChangeStream(c, onEvent, onLiveMode);
    state.stream.start();
  }

  /* An announced change: the views are asked again (each answers 304 if it did not change);
     the lists, which have no ETags, only for a case's events. */
  function onEvent(event) {
    if (!state.poller) return;
    const known = event && (CASE_EVENT.test(event.type) || VIEW_EVENT.test(event.type));
    const lists = !known || CASE_EVENT.test(event.type);
    state.poller.refresh(Object.values(state.resources).filter((r) => r.conditional || lists));
  }

  function onLiveMode(mode) {
    if (!state.poller) return;
    state.live = mode;
    document.documentElement.dataset.live = mode;
    if (mode === 'stream') {
      state.poller.setInterval(BESIDE_STREAM_MS);
      // What changed between the views' last answers and the stream's starting point (the
      // lists follow at the next tick).
      state.poller.refresh(Object.values(state.resources).filter((r) => r.conditional));
    } else {
      state.poller.setInterval(POLL_MS);
    }
    showConnected(state.connected !== false);
  }

  function nameOf(resource) {
    return Object.keys(state.resources).find((key) => state.resources[key] === resource);
  }

  /* Panels to draw after the current one has painted (the county grid of a national
     campaign is tens of thousands of cells): each at most once per turn. */
  const scheduled = new Set();
  function later(render) {
    if (scheduled.has(render)) return;
    scheduled.add(render);
    setTimeout(() => {
      scheduled.delete(render);
      render();
    }, 0);
  }

  function onChange(resource) {
    const which = nameOf(resource);
    if (state.route.page === 'overview') {
      if (which === 'goals') {
        renderGoal();
        later(renderWeekly);
        later(renderEvents);
      } else if (which === 'deltas') {
        later(renderWeekly);
        later(renderRanking);
      } else if (which === 'compliance') {
        later(renderRanking);
        later(renderCompliance);
      } else if (which === 'urgent') {
        renderUrgent();
      }
    } else if (which === 'goals') {
      renderCityPostings();
      later(renderCityEvents);
      later(renderCases);
    } else if (which === 'deltas') {
      later(renderCityTables);
    } else if (which === 'compliance') {
      later(renderCityMissing);
    } else if (which === 'cases') {
      later(renderCases);
    }
    if (!state.painted && which === 'goals') {
      state.painted = true;
      performance.mark('sb:first-data'); // the headline figure is in the page
      document.documentElement.dataset.ready = '1';
    }
    later(countRender);
  }

  function countRender() {
    state.renders += 1;
    document.documentElement.dataset.renders = String(state.renders);
  }

  function setConnected(ok) {
    if (ok === state.connected) return;
    showConnected(ok);
  }

  function showConnected(ok) {
    state.connected = ok;
    const element = byId('live-status');
    if (ok === null) {
      element.textContent = '未连接';
      element.className = 'live-status stale';
    } else if (ok) {
      element.textContent = state.live === 'stream' ? '实时推送中' : '实时更新中（每秒检查）';
      element.className = 'live-status';
    } else {
      element.textContent = '连接中断，正在重试';
      element.className = 'live-status stale';
    }
  }

  function onStatus(error) {
    if (error && error.status === 401) return; // the sign-in form is showing
    setConnected(!error);
    const now = ui.zoned(Date.now(), state.meta.zone).time;
    ui.setText('last-checked', (error ? '上次尝试 ' : '已检查 ') + now);
  }

  function data(name) {
    const resource = state.resources[name];
    return resource ? resource.data : undefined;
  }

  /* 全省总览 */

  function renderFocusDependent() {
    ui.setText('overview-scope', scopeText());
    renderRanking();
    renderCompliance();
    renderWeekly();
    renderEvents();
  }

  function renderGoal() {
    const goals = data('goals');
    if (!goals || !goals.postings) return;
    const p = goals.postings;
    ui.setText('goal-target', ui.num(p.target));
    ui.setText('postings-actual', ui.num(p.actual)).dataset.value = String(p.actual);
    ui.setText('postings-percent', ui.percent(p.percent)).dataset.value = String(p.percent);
    const pace = p.target ? Math.min(100, (Number(p.expected_by_at) / p.target) * 100) : 0;
    byId('postings-bar-fill').style.width = Math.max(0, Math.min(100, p.percent)) + '%';
    byId('postings-bar-pace').style.left = 'calc(' + pace + '% - 1px)';
    byId('postings-bar').setAttribute(
      'aria-label',
      '完成 ' + ui.percent(p.percent) + '，时序进度 ' + ui.percent(pace)
    );
    ui.setText('postings-expected', ui.num(p.expected_by_at) + '（' + ui.percent(pace) + '）').dataset.value =
      String(p.expected_by_at);
    const track = ui.setText('postings-on-track', p.on_track ? '✓ 达到时序进度' : '✗ 落后于时序进度');
    track.className = p.on_track ? 'ahead' : 'behind';
    ui.setText('postings-rate', p.weekly_rate === null ? '—' : ui.num(p.weekly_rate) + ' 个/周');
    ui.setText('postings-projected', p.projected_final === null ? '—' : ui.num(p.projected_final));
    let reach = '按目前增速无法预计';
    if (p.reached_on) reach = '已于 ' + p.reached_on + ' 达成';
    else if (p.projected_reach_date) reach = p.projected_reach_date;
    ui.setText('postings-reach', reach);
    ui.setText('postings-basis', p.basis_period ? periodLabel(p.basis_period) : '尚无报送');
    const caveat = byId('coverage-caveat');
    const coverage = p.coverage;
    if (coverage && coverage.caveat) {
      const lines = ['⚠ 数据覆盖：' + coverage.caveat];
      if (coverage.stale_names.length) lines.push('沿用前期数据：' + someNames(coverage.stale_names));
      if (coverage.missing_names.length) lines.push('未报：' + someNames(coverage.missing_names));
      ui.replaceChildren(caveat, lines.map((line, i) => [i ? h('br') : null, line]));
      caveat.hidden = false;
    } else {
      caveat.hidden = true;
    }
  }

  /* A list of names, shortened for a national campaign's hundreds of cities. */
  function someNames(names) {
    const shown = 15;
    if (names.length <= shown) return names.join('、');
    return names.slice(0, shown).join('、') + ' 等 ' + names.length + ' 市';
  }

  /* The province's increase per period: the sum of the cities' deltas of that period, which
     is the difference of the carried-forward province totals (SPEC 4). */
  function provinceSeries() {
    const deltas = data('deltas');
    if (!deltas) return null;
    const ids = state.meta.periods.map((p) => p.id);
    const sums = new Map();
    for (const item of deltas.items) sums.set(item.period, (sums.get(item.period) || 0) + Number(item.delta));
    let last = -1;
    ids.forEach((id, i) => {
      if (sums.has(id)) last = i;
    });
    let running = 0;
    const increases = [];
    const cumulative = [];
    ids.forEach((id, i) => {
      if (i > last) {
        increases.push(null);
        cumulative.push(null);
        return;
      }
      const increase = sums.get(id) || 0;
      running += increase;
      increases.push(increase);
      cumulative.push(running);
    });
    return { ids: ids, increases: increases, cumulative: cumulative };
  }

  function renderWeekly() {
    const series = provinceSeries();
    if (!series) return;
    const focus = focusPeriod();
    const table = byId('weekly-table');
    const caption = table.querySelector('caption');
    const headCells = series.ids.map((id) =>
      h('th', { scope: 'col', class: id === focus ? 'num focus-week' : 'num' }, id)
    );
    const row = (label, key, values, format) =>
      h('tr', { 'data-series': key },
        h('th', { scope: 'row' }, label),
        values.map((value, i) => h('td', { class: 'num', 'data-period': series.ids[i] }, value === null ? '—' : format(value))));
    table.replaceChildren(
      caption,
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '周次'), headCells)),
      h('tbody', {},
        row('周新增', 'increase', series.increases, ui.signed),
        row('累计', 'cumulative', series.cumulative, ui.num))
    );
    ui.chart(
      byId('weekly-chart'),
      ui.weeklyOption(series.ids, series.increases, series.cumulative, { increase: '周新增', cumulative: '累计' })
    );
  }

  function renderRanking() {
    const deltas = data('deltas');
    if (!deltas) return;
    const compliance = data('compliance');
    const order = state.meta.order;
    const focus = focusPeriod();
    const latest = new Map();
    for (const item of deltas.items) {
      if (order[item.period] > order[focus]) continue;
      const previous = latest.get(item.city);
      if (!previous || order[item.period] > order[previous.period]) latest.set(item.city, item);
    }
    let total = 0;
    let basis = null; // the latest period any city reported, up to the week in focus
    for (const item of latest.values()) {
      total += Number(item.cumulative);
      if (basis === null || order[item.period] > order[basis]) basis = item.period;
    }
    const value = (row) => (row.item ? Number(row.item.cumulative) : -Infinity);
    const rows = state.meta.units.map((code) => ({ code: code, item: latest.get(code) || null }));
    rows.sort((a, b) => value(b) - value(a) || a.code.localeCompare(b.code));
    const body = rows.map((row) => {
      const item = row.item;
      const rank = item ? 1 + rows.filter((other) => value(other) > value(row)).length : null;
      const counts = compliance && compliance.by_city ? compliance.by_city[row.code] : null;
      const judged = counts ? counts.on_time + counts.late + counts.missing : 0;
      const onTime = judged ? (counts.on_time / judged) * 100 : null;
      const share = item && total ? Math.round((Number(item.cumulative) * 10000) / total) / 100 : null;
      return h('tr', { 'data-city': row.code, class: item ? null : 'unreported' },
        h('td', { class: 'num', 'data-field': 'rank' }, rank === null ? '—' : rank),
        h('th', { scope: 'row' }, h('a', { href: pageUrl({ page: 'city', city: row.code }, state.query) }, cityName(row.code))),
        h('td', { class: 'num', 'data-field': 'postings', 'data-value': item ? item.cumulative : null },
          item ? ui.num(item.cumulative) : '未报',
          item && item.period !== basis ? h('span', { class: 'delta' }, '沿用 ' + item.period) : null),
        h('td', { class: 'num', 'data-field': 'increase', 'data-value': item ? item.delta : null },
          item ? ui.signed(item.delta) : '—',
          item && (item.period !== basis || item.gap)
            ? h('span', { class: 'delta' }, item.period + (item.gap ? ' · 含未报周' : ''))
            : null),
        h('td', { class: 'num', 'data-field': 'share' }, share === null ? '—' : ui.percent(share)),
        h('td', { class: 'num', 'data-field': 'on-time' },
          onTime === null ? '—' : ui.percent(onTime, 1),
          counts ? h('span', { class: 'delta detail' }, counts.on_time + '/' + judged + ' 项') : null));
    });
    ui.replaceChildren(byId('ranking-table').querySelector('tbody'), body);
    ui.setText(
      'ranking-caption',
      '截至 ' + focus + (basis && basis !== focus ? '（最近报送周 ' + basis + '）' : '') +
        '：岗位为各市截至该周最近一次报送的累计数，早于最近报送周的注明“沿用”；按时报送率 = 按时 ÷ 已到期事项（评判时点 ' +
        (state.query.at ? ui.localTime(state.query.at, state.meta.zone) : '现在') + '）'
    );
  }

  function renderCompliance() {
    const compliance = data('compliance');
    if (!compliance) return;
    const zone = state.meta.zone;
    const focus = focusPeriod();
    const previous = previousPeriod(focus);
    const deliverables = state.meta.definition.deliverables;
    const weekly = deliverables.filter((d) => d.schedule === 'weekly');
    const once = deliverables.filter((d) => d.schedule !== 'weekly');
    const index = new Map();
    for (const item of compliance.items) index.set(item.city + '|' + item.deliverable + '|' + (item.period || ''), item);
    const groups = [{ label: '本期 ' + periodLabel(focus), period: focus, items: weekly }];
    if (previous) groups.push({ label: '上期 ' + periodLabel(previous), period: previous, items: weekly });
    if (once.length) groups.push({ label: '一次性事项', period: null, items: once });

    const head = h('thead', {},
      h('tr', {},
        h('th', { scope: 'col', rowspan: 2 }, '城市'),
        groups.map((g) => h('th', { scope: 'colgroup', colspan: g.items.length, class: 'group-start' }, g.label))),
      h('tr', {},
        groups.map((g) => g.items.map((d, i) => h('th', { scope: 'col', class: i === 0 ? 'group-start' : null }, d.name_zh)))));
    const rows = state.meta.units.map((code) =>
      h('tr', { 'data-city': code },
        h('th', { scope: 'row' }, h('a', { href: pageUrl({ page: 'city', city: code }, state.query) }, cityName(code))),
        groups.map((g) => g.items.map((d, i) => {
          const item = index.get(code + '|' + d.id + '|' + (g.period || ''));
          const cls = i === 0 ? 'group-start' : null;
          if (!item) return h('td', { class: cls }, '—');
          const badge = ui.statusBadge(item, zone, d.name_zh);
          return h('td', {
            class: cls,
            title: badge.title,
            'data-city': code,
            'data-deliverable': d.id,
            'data-period': g.period || '',
            'data-status': item.status,
          }, badge.badges);
        }))));
    const table = byId('compliance-table');
    const caption = table.querySelector('caption');
    table.replaceChildren(caption, head, h('tbody', {}, rows));
    ui.setText(
      'compliance-caption',
      '评判时点 ' + (state.query.at ? ui.localTime(state.query.at, zone) : '现在') +
        '；迟报注明迟了多久；悬停单元格可见截止与收到时间。'
    );
  }

  function renderEvents() {
    const goals = data('goals');
    if (!goals) return;
    const events = goals.county_events;
    ui.setText('events-per-week', events.per_week);
    const counties = new Set(events.matrix.map((cell) => cell.county)).size;
    ui.setText(
      'events-summary',
      counties + ' 个县（市、区）；已结束的县周 ' + (events.county_weeks - events.in_progress) + ' 个，达标 ' +
        events.met + ' 个（' + ui.percent(events.share_met) + '）；进行中 ' + events.in_progress + ' 个（不计入）。'
    );
    ui.heatGrid(byId('events-grid'), events.matrix, { focus: focusPeriod(), cityOrder: state.meta.units });
  }

  function renderUrgent() {
    const resource = state.resources.urgent;
    const panel = byId('urgent-panel');
    if (!resource || resource.forbidden || !resource.data) {
      panel.hidden = true; // the role may not see urgent reports
      return;
    }
    const items = resource.data.items;
    const list = byId('urgent-list');
    if (!items.length) {
      ui.replaceChildren(list, h('li', { class: 'muted' }, '暂无重要舆情或突发事件。'));
    } else {
      ui.replaceChildren(list, items.map((item) =>
        h('li', { 'data-case': item.id },
          h('span', { class: 'title' }, item.title),
          h('div', { class: 'meta' },
            cityName(item.city) + ' · ' + item.period + ' · 收到 ' + ui.localTime(item.received_at, state.meta.zone)),
          h('div', {}, item.text.length > 120 ? item.text.slice(0, 120) + '…' : item.text))));
    }
    panel.hidden = false;
  }

  /* 城市 */

  function renderCityFrame() {
    const code = state.route.city;
    const known = state.meta.units.includes(code);
    ui.setText('city-title', cityName(code) + (known ? '' : '（不是本活动的报送城市）'));
    ui.setText('city-scope', scopeText());
  }

  function renderCityPostings() {
    const goals = data('goals');
    if (!goals || !goals.city_postings) return;
    const c = goals.city_postings;
    ui.setText('city-postings-actual', c.actual === null ? '未报' : ui.num(c.actual)).dataset.value =
      c.actual === null ? '' : String(c.actual);
    ui.setText('city-rank', c.rank === null ? '—' : '第 ' + c.rank + ' 名 / ' + c.ranked_cities + ' 市').dataset.value =
      c.rank === null ? '' : String(c.rank);
    ui.setText('city-share', c.share_percent === null ? '—' : ui.percent(c.share_percent));
    ui.setText('city-reported', c.reported_period ? periodLabel(c.reported_period) : '—');
    ui.setText('city-basis', c.basis_period ? periodLabel(c.basis_period) : '—');
  }

  function renderCityEvents() {
    const goals = data('goals');
    if (!goals) return;
    const events = goals.county_events;
    ui.setText(
      'city-events-summary',
      '每县每周不少于 ' + events.per_week + ' 场；已结束的县周 ' + (events.county_weeks - events.in_progress) +
        ' 个，达标 ' + events.met + ' 个（' + ui.percent(events.share_met) + '）；进行中 ' + events.in_progress + ' 个。'
    );
    ui.heatGrid(byId('city-events-grid'), events.matrix, { focus: focusPeriod(), groupByCity: false });
  }

  function citySection(table) {
    const id = 'city-table-' + table.id;
    const existing = byId(id);
    if (existing) return existing;
    const select = h('select', { id: 'indicator-' + table.id });
    select.addEventListener('change', () => {
      state.chartIndicator[table.id] = select.value;
      renderCityTables();
    });
    const section = h('section', { class: 'panel', id: id, 'aria-labelledby': id + '-title' },
      h('h3', { id: id + '-title' }, table.attachment + ' ' + table.title_zh),
      h('p', { class: 'indicator-picker' }, h('label', { for: 'indicator-' + table.id }, '图表指标'), select),
      h('div', { class: 'chart', id: 'chart-' + table.id, role: 'img', 'aria-label': table.title_zh + '：所选指标的累计与周新增，数据见下表' }),
      h('p', { class: 'muted', id: id + '-note' }),
      h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': table.title_zh + '数据表' },
        h('table', { class: 'data compact', id: 'city-data-' + table.id },
          h('caption', { class: 'visually-hidden' }, table.title_zh + '：各周累计数与周新增'))));
    byId('city-tables').append(section);
    return section;
  }

  function renderCityTables() {
    const deltas = data('deltas');
    if (!deltas) return;
    const order = state.meta.order;
    const goal = state.meta.definition.goals.postings;
    for (const table of state.meta.definition.tables) citySection(table); // laid out before drawing
    for (const table of state.meta.definition.tables) {
      const byIndicator = new Map();
      let last = -1;
      for (const item of deltas.items) {
        if (item.table !== table.id) continue;
        if (!byIndicator.has(item.indicator)) byIndicator.set(item.indicator, new Map());
        byIndicator.get(item.indicator).set(item.period, item);
        last = Math.max(last, order[item.period]);
      }
      const reported = table.indicators.filter((i) => byIndicator.has(i.key));
      const unreported = table.indicators.filter((i) => !byIndicator.has(i.key));
      const ids = state.meta.periods.slice(0, last + 1).map((p) => p.id);
      const note = byId('city-table-' + table.id + '-note');
      const chartElement = byId('chart-' + table.id);
      const select = byId('indicator-' + table.id);
      const dataTable = byId('city-data-' + table.id);
      const caption = dataTable.querySelector('caption');
      if (!reported.length) {
        note.textContent = '本市尚未报送此表。';
        chartElement.hidden = true;
        select.replaceChildren();
        dataTable.replaceChildren(caption);
        continue;
      }
      note.textContent = unreported.length
        ? '未报指标 ' + unreported.length + ' 项：' + unreported.map((i) => i.name_zh).join('、')
        : '全部 ' + reported.length + ' 项指标均已报送。';
      chartElement.hidden = false;
      let chosen = state.chartIndicator[table.id];
      if (!chosen || !byIndicator.has(chosen)) {
        chosen = table.id === goal.table && byIndicator.has(goal.indicator) ? goal.indicator : reported[0].key;
      }
      select.replaceChildren(...reported.map((i) => h('option', { value: i.key, selected: i.key === chosen }, i.name_zh)));
      select.value = chosen;
      const cells = byIndicator.get(chosen);
      ui.chart(chartElement, ui.weeklyOption(
        ids,
        ids.map((id) => (cells.has(id) ? Number(cells.get(id).delta) : null)),
        ids.map((id) => (cells.has(id) ? Number(cells.get(id).cumulative) : null)),
        { increase: '周新增', cumulative: '累计' }
      ));
      dataTable.replaceChildren(
        caption,
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, '指标（单位）'), ids.map((id) => h('th', { scope: 'col', class: 'num' }, id)))),
        h('tbody', {}, reported.map((indicator) =>
          h('tr', { 'data-indicator': indicator.key },
            h('th', { scope: 'row' }, indicator.name_zh + '（' + indicator.unit_zh + '）'),
            ids.map((id) => {
              const item = byIndicator.get(indicator.key).get(id);
              if (!item) return h('td', { class: 'num', 'data-period': id }, '—');
              return h('td', {
                class: 'num',
                'data-period': id,
                'data-cumulative': item.cumulative,
                'data-delta': item.delta,
                title: item.gap ? '新增含 ' + item.previous_period + ' 之后未报的周' : null,
              },
              ui.num(item.cumulative),
              h('span', { class: 'delta' + (item.negative ? ' negative' : '') }, ui.signed(item.delta) + (item.gap ? ' *' : '')));
            }))))
      );
    }
  }

  function renderCityMissing() {
    const compliance = data('compliance');
    if (!compliance) return;
    const zone = state.meta.zone;
    const counts = compliance.by_city[state.route.city];
    ui.setText(
      'city-missing-summary',
      counts
        ? '按时 ' + counts.on_time + ' 项 · 迟报 ' + counts.late + ' 项 · 缺报 ' + counts.missing + ' 项 · 未到期 ' + counts.not_due + ' 项'
        : '没有需要报送的事项。'
    );
    const order = state.meta.order;
    const byPeriod = (a, b) => (a.period ? order[a.period] : -1) - (b.period ? order[b.period] : -1);
    // One line per status and deliverable, listing its periods.
    const groups = [];
    const add = (kind, item) => {
      let group = groups.find((g) => g.kind === kind && g.deliverable === item.deliverable);
      if (!group) {
        group = { kind: kind, deliverable: item.deliverable, items: [] };
        groups.push(group);
      }
      group.items.push(item);
    };
    const sorted = compliance.items.slice().sort(byPeriod);
    for (const item of sorted) if (item.status === 'missing') add('missing', item);
    for (const item of sorted) if (item.status === 'late') add('late', item);
    for (const item of sorted) if (item.review_state === 'returned') add('returned', item);
    const entries = groups.map((group) => {
      const name = deliverableName(group.deliverable);
      const first = group.items[0];
      const badge = group.kind === 'returned'
        ? h('span', { class: 'status returned' }, '↩ 退回')
        : h('span', { class: 'status ' + group.kind }, ui.statusWords({ status: group.kind }));
      const parts = group.items.map((item, i) => {
        let text = item.period || '截止 ' + ui.localTime(item.due, zone);
        if (group.kind === 'late') text += ' 迟 ' + ui.duration(item.late_by_seconds);
        return [i ? '、' : '', h('span', { 'data-period': item.period || '', title: ui.statusBadge(item, zone, name).title }, text)];
      });
      return h('li', { 'data-status': group.kind, 'data-deliverable': group.deliverable, 'data-count': group.items.length },
        badge, ' ', h('strong', {}, name), first.period ? '（' + group.items.length + ' 期）' : '', '：', parts);
    });
    ui.replaceChildren(byId('city-missing-list'), entries.length ? entries : h('li', { class: 'muted' }, '没有缺报或迟报事项。'));
  }

  function renderCases() {
    const resource = state.resources.cases;
    if (!resource || !resource.loaded) return;
    const table = byId('city-cases-table');
    if (resource.forbidden) {
      ui.setText('city-cases-summary', '当前账号无权查看该市的案例（城市账号只能查看本市）。');
      table.replaceChildren();
      return;
    }
    const counties = {};
    const goals = data('goals');
    if (goals) for (const cell of goals.county_events.matrix) counties[cell.county] = cell.county_name || cell.county;
    const items = resource.data.items.slice().reverse();
    const urgent = items.filter((c) => c.urgent).length;
    ui.setText(
      'city-cases-summary',
      '共 ' + items.length + ' 条' + (resource.data.next_cursor ? '（仅显示前 ' + CASES_LIMIT + ' 条）' : '') +
        '，其中重要舆情/突发事件 ' + urgent + ' 条；新提交的在前。'
    );
    const zone = state.meta.zone;
    table.replaceChildren(
      h('caption', { class: 'visually-hidden' }, '本市特色亮点案例'),
      h('thead', {}, h('tr', {}, ['周次', '标题', '五项活动', '县（市、区）', '类别', '收到时间', '审核状态'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, items.map((c) =>
        h('tr', { 'data-case': c.id },
          h('td', {}, c.period),
          h('th', { scope: 'row' }, c.title),
          h('td', {}, state.meta.activities[c.activity] || c.activity),
          h('td', {}, c.county ? counties[c.county] || c.county : '—'),
          h('td', {}, c.urgent ? h('span', { class: 'status missing' }, '! 紧急') : '亮点案例'),
          h('td', {}, ui.localTime(c.received_at, zone)),
          h('td', {}, c.review && c.review.state ? ui.REVIEW[c.review.state] || c.review.state : '—'))))
    );
  }

  /* Start */

  function wire() {
    byId('signin-form').addEventListener('submit', submitSignIn);
    byId('sign-out').addEventListener('click', signOut);
    byId('controls').addEventListener('submit', (event) => {
      event.preventDefault();
      applyControls();
    });
    byId('period-select').addEventListener('change', applyControls);
    byId('reset-controls').addEventListener('click', () => {
      byId('period-select').value = '';
      byId('as-of').value = '';
      byId('at').value = '';
      applyControls();
    });
    byId('city-select').addEventListener('change', (event) => {
      if (event.target.value) navigate({ page: 'city', city: event.target.value }, state.query);
    });
    window.addEventListener('popstate', () => {
      const route = parseRoute();
      if (route.page !== state.route.page || route.city !== state.route.city) {
        location.reload();
        return;
      }
      state.query = readQuery();
      syncControls();
      startData();
    });
    let resizing = null;
    window.addEventListener('resize', () => {
      clearTimeout(resizing);
      resizing = setTimeout(ui.resizeCharts, 150);
    });
    // Charts take the printed page's width, and the screen's again after.
    window.addEventListener('beforeprint', ui.resizeCharts);
    window.addEventListener('afterprint', ui.resizeCharts);
    window.matchMedia('print').addEventListener('change', ui.resizeCharts);
    api.onExpired(() => showSignIn('登录已过期或已失效，请重新登录。'));
  }

  async function boot() {
    wire();
    metaReady = loadMeta();
    if (!api.readSession()) showSignIn('');
    try {
      state.meta = await metaReady;
    } catch (error) {
      ui.setText('signin-message', '无法读取活动定义：' + (error.detail || error.message));
      byId('signin-panel').hidden = false;
      return;
    }
    setupFrame();
    if (state.route.page === 'city') renderCityFrame();
    const session = api.readSession();
    if (session) {
      showSession(session);
      showPage();
      startData();
    }
  }

  boot();
})();
