/* Building blocks of the pages: elements (text only, never HTML from data), number and time
   formats, status badges, the county × week grid, and charts (Apache ECharts, vendored). */
(function () {
  'use strict';

  const SB = (window.SB = window.SB || {});
  const FONT =
    '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif';
  const ATTRIBUTES = new Set([
    'id', 'title', 'href', 'scope', 'colspan', 'rowspan', 'role', 'for', 'value', 'lang',
    'type', 'hidden', 'selected', 'tabindex',
  ]);

  /* h('td', {class: 'num', 'data-x': 1}, child, 'text', …): an element; children are nodes
     or text (set as text, so data can never inject markup). */
  function h(tag, attributes) {
    const element = document.createElement(tag);
    const attrs = attributes || {};
    for (const name of Object.keys(attrs)) {
      const value = attrs[name];
      if (value === null || value === undefined || value === false) continue;
      if (name === 'class') element.className = value;
      else if (name === 'text') element.textContent = String(value);
      else if (ATTRIBUTES.has(name) || name.startsWith('data-') || name.startsWith('aria-'))
        element.setAttribute(name, value === true ? '' : String(value));
      else throw new Error('unexpected attribute ' + name);
    }
    for (let i = 2; i < arguments.length; i += 1) append(element, arguments[i]);
    return element;
  }

  function append(element, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) {
      for (const each of child) append(element, each);
      return;
    }
    element.append(child instanceof Node ? child : String(child));
  }

  function byId(id) {
    return document.getElementById(id);
  }

  function setText(id, text) {
    const element = byId(id);
    if (element) element.textContent = text;
    return element;
  }

  function replaceChildren(element, children) {
    element.replaceChildren();
    append(element, children);
  }

  /* Formats */
  const NUMBER = new Intl.NumberFormat('zh-CN', { maximumFractionDigits: 4 });

  function num(value) {
    if (value === null || value === undefined) return '—';
    return NUMBER.format(Number(value));
  }

  function signed(value) {
    if (value === null || value === undefined) return '—';
    return (Number(value) > 0 ? '+' : '') + num(value);
  }

  function percent(value, digits) {
    if (value === null || value === undefined || Number.isNaN(Number(value))) return '—';
    return Number(value).toFixed(digits === undefined ? 2 : digits) + '%';
  }

  /* 59400 → "16小时30分"; the two largest parts. */
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return '';
    let left = Math.max(0, Math.round(Number(seconds)));
    const days = Math.floor(left / 86400);
    left -= days * 86400;
    const hours = Math.floor(left / 3600);
    left -= hours * 3600;
    const minutes = Math.floor(left / 60);
    const parts = [];
    if (days) parts.push(days + '天');
    if (hours) parts.push(hours + '小时');
    if (minutes && parts.length < 2) parts.push(minutes + '分');
    if (!parts.length) return (left - minutes * 60) + '秒';
    return parts.slice(0, 2).join('');
  }

  const zoneFormats = new Map();
  function zoneFormat(zone) {
    if (!zoneFormats.has(zone)) {
      zoneFormats.set(
        zone,
        new Intl.DateTimeFormat('en-CA', {
          timeZone: zone,
          year: 'numeric',
          month: '2-digit',
          day: '2-digit',
          hour: '2-digit',
          minute: '2-digit',
          second: '2-digit',
          hourCycle: 'h23',
          timeZoneName: 'longOffset',
        })
      );
    }
    return zoneFormats.get(zone);
  }

  /* The wall-clock parts of an instant in a time zone, and its offset ("+08:00"). */
  function zoned(instant, zone) {
    const parts = {};
    for (const part of zoneFormat(zone).formatToParts(new Date(instant))) parts[part.type] = part.value;
    const offset = (parts.timeZoneName || 'GMT').replace('GMT', '') || '+00:00';
    return {
      date: parts.year + '-' + parts.month + '-' + parts.day,
      time: parts.hour + ':' + parts.minute + ':' + parts.second,
      offset: offset,
    };
  }

  /* "2024-02-23 17:30" in the campaign's zone. */
  function localTime(instant, zone) {
    if (!instant) return '—';
    const z = zoned(instant, zone);
    return z.date + ' ' + z.time.slice(0, 5);
  }

  /* A datetime-local value ("2024-02-20T12:00" or with seconds) read in `zone` → ISO 8601
     with that zone's offset at that moment. */
  function instantFromLocal(value, zone) {
    const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value || '');
    if (!match) return '';
    const [, y, mo, d, hh, mi, ss] = match;
    const asUtc = Date.UTC(+y, +mo - 1, +d, +hh, +mi, +(ss || 0));
    let offset = zoned(asUtc, zone).offset;
    const minutes = offsetMinutes(offset);
    offset = zoned(asUtc - minutes * 60000, zone).offset; // the offset at the instant itself
    return y + '-' + mo + '-' + d + 'T' + hh + ':' + mi + ':' + (ss || '00') + offset;
  }

  function offsetMinutes(offset) {
    const match = /^([+-])(\d{2}):(\d{2})$/.exec(offset);
    if (!match) return 0;
    return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]));
  }

  /* ISO instant → a datetime-local value in `zone`. */
  function localInputValue(instant, zone) {
    if (!instant) return '';
    const time = Date.parse(instant);
    if (Number.isNaN(time)) return '';
    const z = zoned(time, zone);
    return z.date + 'T' + z.time;
  }

  /* Compliance statuses: a symbol and words, so the board reads without colour. */
  const STATUS = {
    on_time: ['✓', '按时'],
    late: ['⏱', '迟报'],
    missing: ['✗', '缺报'],
    not_due: ['…', '未到期'],
    returned: ['↩', '退回'],
  };
  const REVIEW = { submitted: '待审核', approved: '已通过', returned: '已退回' };

  function statusWords(item) {
    const known = STATUS[item.status] || ['?', item.status];
    let words = known[0] + ' ' + known[1];
    if (item.status === 'late' && item.late_by_seconds !== null && item.late_by_seconds !== undefined)
      words += ' ' + duration(item.late_by_seconds);
    return words;
  }

  function statusBadge(item, zone, deliverableName) {
    const details = [
      (deliverableName || item.deliverable) + (item.period ? ' ' + item.period : ''),
      '截止 ' + localTime(item.due, zone),
      item.received_at ? '收到 ' + localTime(item.received_at, zone) : '未收到',
    ];
    if (item.indicators_expected)
      details.push('指标 ' + item.indicators_reported + '/' + item.indicators_expected);
    if (item.review_state) details.push('审核：' + (REVIEW[item.review_state] || item.review_state));
    if (item.late_reason) details.push(item.late_reason);
    const badges = [
      h('span', { class: 'status ' + item.status, 'data-status': item.status }, statusWords(item)),
    ];
    if (item.review_state === 'returned') {
      badges.push(' ', h('span', { class: 'status returned', 'data-review': 'returned' }, '↩ 退回'));
    }
    return { badges: badges, title: details.join(' · ') };
  }

  /* The county × week grid of recruitment events against the weekly requirement: one small
     table per city (its counties × the weeks), side by side. */
  function heatGrid(container, matrix, options) {
    const opts = options || {};
    const weeks = [];
    const seenWeeks = new Set();
    const cities = new Map();
    for (const cell of matrix) {
      if (!seenWeeks.has(cell.period)) {
        seenWeeks.add(cell.period);
        weeks.push(cell.period);
      }
      if (!cities.has(cell.city))
        cities.set(cell.city, { name: cell.city_name || cell.city, counties: new Map() });
      const counties = cities.get(cell.city).counties;
      if (!counties.has(cell.county))
        counties.set(cell.county, { name: cell.county_name || cell.county, cells: new Map() });
      counties.get(cell.county).cells.set(cell.period, cell);
    }
    const order = opts.cityOrder || [];
    const cityCodes = Array.from(cities.keys()).sort(
      (a, b) => rankOf(order, a) - rankOf(order, b) || a.localeCompare(b)
    );
    const tables = cityCodes.map((code) => {
      const city = cities.get(code);
      let judged = 0;
      let met = 0;
      for (const county of city.counties.values())
        for (const cell of county.cells.values())
          if (!cell.in_progress) {
            judged += 1;
            if (cell.met) met += 1;
          }
      return h('table', { class: 'data heat', 'data-city': code },
        h('caption', {}, h('span', { class: 'city-name' }, city.name), ' · 达标 ' + met + '/' + judged + ' 县周'),
        h('thead', {},
          h('tr', {},
            h('th', { scope: 'col' }, '县（市、区）'),
            weeks.map((w) => h('th', { scope: 'col', class: w === opts.focus ? 'focus-week' : null }, w.replace(/^W0?/, 'W'))))),
        h('tbody', {},
          Array.from(city.counties, ([countyCode, county]) =>
            h('tr', { 'data-county': countyCode },
              h('th', { scope: 'row' }, county.name),
              weeks.map((week) => heatCell(county, week, opts.focus))))));
    });
    container.replaceChildren(...tables);
  }

  function rankOf(order, code) {
    const index = order.indexOf(code);
    return index < 0 ? order.length : index;
  }

  function heatCell(county, week, focus) {
    const cell = county.cells.get(week);
    if (!cell) return h('td', {}, '');
    let kind;
    let symbol;
    let words;
    if (cell.in_progress) {
      kind = 'in_progress';
      symbol = '◔';
      words = '本周进行中';
    } else if (cell.met) {
      kind = 'met';
      symbol = '✓';
      words = '达标';
    } else {
      kind = cell.events === 0 ? 'none' : 'short';
      symbol = '✗';
      words = '未达标，差 ' + (cell.required - cell.events) + ' 场';
    }
    return h(
      'td',
      {
        class: kind + (week === focus ? ' focus-week' : ''),
        'data-county': cell.county,
        'data-period': week,
        'data-events': cell.events,
        'data-required': cell.required,
        'data-state': kind,
        title: county.name + ' ' + week + '：' + cell.events + ' 场，需 ' + cell.required + ' 场，' + words,
      },
      cell.events + symbol
    );
  }

  /* Charts: drawn when the library has loaded (it loads beside the page's own scripts). */
  const charts = new Map();
  const pending = new Map();
  // A chart follows its box: the grid settling, a window resize, the print layout.
  const resizer =
    typeof ResizeObserver === 'function'
      ? new ResizeObserver((entries) => {
          for (const entry of entries) {
            const instance = charts.get(entry.target);
            if (instance) instance.resize();
          }
        })
      : null;

  function withCharts(callback) {
    if (window.echarts) {
      callback(window.echarts);
      return;
    }
    const script = byId('echarts-library');
    if (script) script.addEventListener('load', () => callback(window.echarts), { once: true });
  }

  function chart(element, option) {
    pending.set(element, option);
    withCharts((echarts) => {
      const latest = pending.get(element);
      if (!latest || !element.isConnected) return;
      pending.delete(element);
      let instance = charts.get(element);
      if (!instance) {
        instance = echarts.init(element, null, { renderer: 'canvas' });
        charts.set(element, instance);
        if (resizer) resizer.observe(element);
      }
      instance.setOption(
        Object.assign(
          {
            animation: false,
            aria: { enabled: true },
            textStyle: { fontFamily: FONT, color: '#1b1f24' },
            tooltip: { trigger: 'axis', renderMode: 'richText' },
          },
          latest
        ),
        true
      );
    });
  }

  function resizeCharts() {
    for (const [element, instance] of charts) {
      if (element.isConnected) instance.resize();
      else {
        if (resizer) resizer.unobserve(element);
        instance.dispose();
        charts.delete(element);
      }
    }
  }

  /* Bars of increases and a line of the cumulative figure, per period. */
  function weeklyOption(periods, increases, cumulative, names) {
    return {
      grid: { left: 64, right: 72, top: 36, bottom: 28 },
      legend: { top: 0, data: [names.increase, names.cumulative] },
      xAxis: { type: 'category', data: periods, axisLabel: { color: '#333c48' } },
      yAxis: [
        { type: 'value', name: names.increase, axisLabel: { color: '#333c48' } },
        { type: 'value', name: names.cumulative, axisLabel: { color: '#333c48' }, splitLine: { show: false } },
      ],
      series: [
        { name: names.increase, type: 'bar', data: increases, barMaxWidth: 36, itemStyle: { color: '#0b5d3b' } },
        {
          name: names.cumulative,
          type: 'line',
          yAxisIndex: 1,
          data: cumulative,
          itemStyle: { color: '#c2410c' },
          lineStyle: { color: '#c2410c', width: 2 },
          connectNulls: false,
        },
      ],
    };
  }

  SB.ui = {
    append: append,
    byId: byId,
    chart: chart,
    duration: duration,
    h: h,
    heatGrid: heatGrid,
    instantFromLocal: instantFromLocal,
    localInputValue: localInputValue,
    localTime: localTime,
    num: num,
    percent: percent,
    replaceChildren: replaceChildren,
    resizeCharts: resizeCharts,
    setText: setText,
    signed: signed,
    statusBadge: statusBadge,
    statusWords: statusWords,
    weeklyOption: weeklyOption,
    zoned: zoned,
    REVIEW: REVIEW,
  };
})();
