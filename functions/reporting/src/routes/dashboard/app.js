// FinFlow operations dashboard: draws GET /api/reports/dashboard as SVG charts and redraws it
// every few seconds. No libraries, no third-party requests, no inline script (the page's CSP
// allows only this file).
//
// The staff token comes from the URL fragment (#token=..., which browsers never send to the
// server) or the paste form, and is kept in sessionStorage: it lives as long as the tab and is
// sent only as a bearer token to the reporting API on this origin.
//
// Amounts are the API's exact decimal strings. They are shown as sent (digits grouped as text)
// and summed with BigInt; Number() only scales bar heights.
//
// Every drawn figure carries data attributes (data-chart plus data-day, data-currency,
// data-status, data-tier, data-stage, data-key, data-count, data-volume) so tests, and anyone
// auditing the page, can read exactly what was drawn.
'use strict';

(() => {
  const API = '/api/reports/dashboard';
  const REFRESH_MS = 3000;
  const TOKEN_KEY = 'finflow.dashboard.token';
  const STATUSES = ['COMPLETED', 'ON_HOLD', 'FAILED'];
  const TIERS = ['bronze', 'silver', 'gold'];
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const DAY_MS = 86400000;

  let timer = null;
  let generation = 0;
  let running = false;

  const $ = (id) => document.getElementById(id);

  // ---- elements -------------------------------------------------------------------------

  function node(ns, tag, attrs, text) {
    const element = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null) element.setAttribute(name, String(value));
    }
    if (text !== undefined && text !== null) element.textContent = String(text);
    return element;
  }
  const html = (tag, attrs, text) => node(null, tag, attrs, text);
  const svg = (tag, attrs, text) => node(SVG_NS, tag, attrs, text);

  // ---- exact decimals -------------------------------------------------------------------

  // "12345.6700" -> "12,345.6700", as text: never through a float.
  function groupDigits(text) {
    const match = /^(-?)(\d+)(\.\d+)?$/.exec(String(text));
    if (!match) return String(text);
    return match[1] + match[2].replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (match[3] || '');
  }

  // Exact sum of decimal strings (BigInt at the largest scale among them).
  function sumDecimals(values) {
    const parsed = values.map((v) => /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(v)));
    if (parsed.some((m) => !m)) return null;
    const scale = Math.max(0, ...parsed.map((m) => (m[3] || '').length));
    let total = 0n;
    for (const m of parsed) {
      const units = BigInt(m[2] + (m[3] || '').padEnd(scale, '0'));
      total += m[1] ? -units : units;
    }
    const negative = total < 0n;
    const digits = (negative ? -total : total).toString().padStart(scale + 1, '0');
    const whole = digits.slice(0, digits.length - scale);
    const fraction = scale ? '.' + digits.slice(digits.length - scale) : '';
    return (negative ? '-' : '') + whole + fraction;
  }

  // An object's entries, the keys named in `first` in that order, then any others sorted.
  function ordered(object, first) {
    const entries = Object.entries(object || {});
    const rank = (key) => (first.includes(key) ? first.indexOf(key) : first.length);
    return entries.sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  }

  const plural = (n, one, many) => `${n} ${Number(n) === 1 ? one : many}`;

  // ---- days -----------------------------------------------------------------------------

  function parseDay(text) {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || '');
    return match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : NaN;
  }
  const formatDay = (ms) => new Date(ms).toISOString().slice(0, 10);

  function daysOf(from, to) {
    const start = parseDay(from);
    const end = parseDay(to);
    const days = [];
    if (Number.isNaN(start) || Number.isNaN(end)) return days;
    for (let day = start; day <= end && days.length < 400; day += DAY_MS) days.push(formatDay(day));
    return days;
  }

  // An axis maximum of 1, 2, 2.5 or 5 times a power of ten.
  function niceMax(value) {
    if (!(value > 0)) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
    return 10 * power;
  }
  const axisLabel = (value) => value.toLocaleString('en-US', { maximumFractionDigits: 2 });

  // ---- charts ---------------------------------------------------------------------------

  function statusRank(status) {
    const rank = STATUSES.indexOf(status);
    return rank < 0 ? STATUSES.length : rank;
  }

  function volumeChart(currency, days, rows) {
    const width = 1100;
    const height = 250;
    const margin = { top: 18, right: 12, bottom: 28, left: 76 };
    const plotWidth = width - margin.left - margin.right;
    const plotHeight = height - margin.top - margin.bottom;
    const byDay = new Map(days.map((day) => [day, []]));
    for (const row of rows) {
      if (!byDay.has(row.date)) byDay.set(row.date, []);
      byDay.get(row.date).push(row);
    }
    const allDays = [...byDay.keys()].sort();
    const dayTotal = (day) => byDay.get(day).reduce((sum, row) => sum + Number(row.volume), 0);
    const top = niceMax(Math.max(0, ...allDays.map(dayTotal)));
    const y = (value) => plotHeight - (value / top) * plotHeight;
    const band = plotWidth / Math.max(1, allDays.length);
    const barWidth = Math.max(2, Math.min(34, band * 0.72));

    const chart = svg('svg', {
      class: 'chart volume',
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-label': `${currency} payment volume by day and status`,
      'data-currency': currency,
    });
    const plot = svg('g', { transform: `translate(${margin.left},${margin.top})` });
    chart.append(plot);

    for (let i = 0; i <= 4; i += 1) {
      const value = (top * i) / 4;
      const at = y(value);
      plot.append(svg('line', { class: 'grid-line', x1: 0, x2: plotWidth, y1: at, y2: at }));
      plot.append(svg('text', { class: 'axis', x: -8, y: at + 4, 'text-anchor': 'end' }, axisLabel(value)));
    }
    const every = Math.max(1, Math.ceil(allDays.length / 12));
    const today = formatDay(Date.now());

    allDays.forEach((day, index) => {
      const x = index * band + (band - barWidth) / 2;
      if (index % every === 0 || day === today) {
        plot.append(svg('text', {
          class: day === today ? 'axis today' : 'axis',
          x: x + barWidth / 2,
          y: plotHeight + 18,
          'text-anchor': 'middle',
        }, day === today ? 'today' : day.slice(5)));
      }
      const dayRows = byDay.get(day).slice().sort((a, b) => statusRank(a.status) - statusRank(b.status));
      let base = 0;
      let count = 0;
      for (const row of dayRows) {
        const value = Number(row.volume);
        const from = y(base);
        const to = y(base + value);
        let barHeight = from - to;
        if (row.count > 0 && barHeight < 1.5) barHeight = 1.5;
        const segment = svg('rect', {
          class: `segment s-${String(row.status).toLowerCase()}`,
          x,
          y: from - barHeight,
          width: barWidth,
          height: barHeight,
          'data-chart': 'volume',
          'data-day': row.date,
          'data-currency': row.currency,
          'data-status': row.status,
          'data-count': row.count,
          'data-volume': row.volume,
        });
        segment.append(svg('title', {}, `${row.date} · ${row.status}: ${plural(row.count, 'payment', 'payments')}, ${groupDigits(row.volume)} ${row.currency}`));
        plot.append(segment);
        base += value;
        count += Number(row.count);
      }
      if (count > 0) {
        plot.append(svg('text', { class: 'bar-count', x: x + barWidth / 2, y: y(base) - 4, 'text-anchor': 'middle' }, count));
      }
    });
    plot.append(svg('line', { class: 'baseline', x1: 0, x2: plotWidth, y1: plotHeight, y2: plotHeight }));
    return chart;
  }

  function totalsTable(currency, totals) {
    const table = html('table', { class: 'totals' });
    table.append(html('caption', {}, `${currency} over the period`));
    const head = html('tr');
    for (const [label, cls] of [['Status', ''], ['Payments', 'num'], [`Volume (${currency})`, 'num']]) {
      head.append(html('th', { class: cls || null }, label));
    }
    const thead = html('thead');
    thead.append(head);
    table.append(thead);
    const body = html('tbody');
    const sorted = totals.slice().sort((a, b) => statusRank(a.status) - statusRank(b.status));
    for (const total of sorted) {
      const row = html('tr', {
        'data-chart': 'totals',
        'data-currency': total.currency,
        'data-status': total.status,
        'data-count': total.count,
        'data-volume': total.volume,
      });
      const name = html('td');
      name.append(html('span', { class: `swatch s-${String(total.status).toLowerCase()}` }), total.status);
      row.append(name, html('td', { class: 'num' }, total.count), html('td', { class: 'num money' }, groupDigits(total.volume)));
      body.append(row);
    }
    const all = sumDecimals(sorted.map((t) => t.volume));
    const count = sorted.reduce((sum, t) => sum + Number(t.count), 0);
    const foot = html('tr', { class: 'sum' });
    foot.append(html('td', {}, 'All statuses'), html('td', { class: 'num' }, count), html('td', { class: 'num money' }, all === null ? '–' : groupDigits(all)));
    body.append(foot);
    table.append(body);
    return table;
  }

  function drawVolume(data) {
    const days = daysOf(data.from, data.to);
    const rows = Array.isArray(data.volume) ? data.volume : [];
    const totals = Array.isArray(data.totals) ? data.totals : [];
    const currencies = [...new Set([...rows, ...totals].map((r) => r.currency))].sort();
    const container = html('div');
    if (currencies.length === 0) {
      container.append(html('p', { class: 'empty' }, 'No payments in this period yet.'));
    }
    for (const currency of currencies) {
      const block = html('div', { class: 'currency-block', 'data-currency': currency });
      block.append(html('h3', {}, currency));
      const body = html('div', { class: 'currency-body' });
      body.append(
        volumeChart(currency, days, rows.filter((r) => r.currency === currency)),
        totalsTable(currency, totals.filter((t) => t.currency === currency)),
      );
      block.append(body);
      container.append(block);
    }
    $('volume-charts').replaceChildren(...container.childNodes);
  }

  function drawTiers(users) {
    const tiers = (users && users.tiers) || {};
    const names = [...TIERS, ...Object.keys(tiers).filter((t) => !TIERS.includes(t)).sort()];
    const total = names.reduce((sum, t) => sum + Number(tiers[t] || 0), 0);
    const max = Math.max(1, ...names.map((t) => Number(tiers[t] || 0)));
    const rowHeight = 44;
    const width = 420;
    const left = 70;
    const right = 110;
    const chart = svg('svg', { class: 'chart tiers', viewBox: `0 0 ${width} ${names.length * rowHeight + 8}`, role: 'img', 'aria-label': 'Users by account tier' });
    names.forEach((tier, index) => {
      const count = Number(tiers[tier] || 0);
      const y = index * rowHeight + 8;
      const barWidth = ((width - left - right) * count) / max;
      chart.append(svg('text', { class: 'label', x: 0, y: y + 20 }, tier));
      chart.append(svg('rect', { class: 'track', x: left, y: y + 4, width: width - left - right, height: 22, rx: 4 }));
      const bar = svg('rect', { class: `bar t-${tier}`, x: left, y: y + 4, width: Math.max(count > 0 ? 2 : 0, barWidth), height: 22, rx: 4, 'data-chart': 'tiers', 'data-tier': tier, 'data-count': count });
      bar.append(svg('title', {}, `${tier}: ${plural(count, 'user', 'users')}`));
      chart.append(bar);
      const share = total > 0 ? `${Math.round((count * 1000) / total) / 10}%` : '–';
      chart.append(svg('text', { class: 'value', x: width - right + 10, y: y + 20 }, `${count} · ${share}`));
    });
    $('tiers-chart').replaceChildren(chart);
  }

  function drawFunnel(funnel) {
    const statuses = funnel.users_by_status || {};
    const stages = [
      ['registered', 'Registered', Number(funnel.registered || 0)],
      ['submitted', 'KYC submissions', Number(funnel.submissions || 0)],
      ['verified', 'Verified', Number(statuses.verified || 0)],
    ];
    const width = 420;
    const rowHeight = 50;
    const max = Math.max(1, ...stages.map((s) => s[2]));
    const first = stages[0][2];
    const chart = svg('svg', { class: 'chart funnel', viewBox: `0 0 ${width} ${stages.length * rowHeight}`, role: 'img', 'aria-label': 'KYC funnel' });
    stages.forEach(([stage, label, count], index) => {
      const barWidth = Math.max(count > 0 ? 4 : 0, (width * 0.62 * count) / max);
      const y = index * rowHeight;
      const bar = svg('rect', { class: `stage f-${index}`, x: (width * 0.62 - barWidth) / 2, y: y + 6, width: barWidth, height: 30, rx: 3, 'data-chart': 'funnel', 'data-stage': stage, 'data-count': count });
      bar.append(svg('title', {}, `${label}: ${count}`));
      chart.append(bar);
      const rate = index > 0 && first > 0 ? ` · ${Math.round((count * 1000) / first) / 10}%` : '';
      chart.append(svg('text', { class: 'label', x: width * 0.62 + 12, y: y + 19 }, label));
      chart.append(svg('text', { class: 'value', x: width * 0.62 + 12, y: y + 35 }, `${count}${rate}`));
    });
    $('funnel-chart').replaceChildren(chart);

    const details = [];
    for (const [status, count] of ordered(statuses, ['pending', 'verified', 'rejected'])) details.push([`status.${status}`, `Users ${status}`, count]);
    const decisions = funnel.decisions || {};
    for (const [by, outcomes] of ordered(decisions, ['automatic', 'staff'])) {
      for (const [outcome, count] of ordered(outcomes, ['verified', 'manual_review', 'rejected'])) {
        details.push([`${by}.${outcome}`, `${by === 'staff' ? 'Staff review' : 'Automatic'}: ${outcome.replace('_', ' ')}`, count]);
      }
    }
    $('kyc-details').replaceChildren(...details.flatMap(([key, label, count]) => [
      html('dt', {}, label),
      html('dd', { 'data-chart': 'kyc', 'data-key': key, 'data-count': count }, count),
    ]));
  }

  function drawAml(aml) {
    const figures = [];
    const order = ['holds_opened', 'holds_released', 'holds_voided', 'holds_failed', 'cases_resolved'];
    for (const [key, value] of ordered(aml, order)) {
      if (key === 'held') continue;
      if (value !== null && typeof value === 'object') {
        for (const [inner, count] of ordered(value, ['release', 'void'])) figures.push([`${key}.${inner}`, count]);
      } else {
        figures.push([key, value]);
      }
    }
    const label = (key) => key.replace('.', ': ').replace(/_/g, ' ');
    $('aml-figures').replaceChildren(...figures.flatMap(([key, count]) => [
      html('dt', {}, label(key)),
      html('dd', { 'data-chart': 'aml', 'data-key': key, 'data-count': count }, count),
    ]));
    const held = Array.isArray(aml && aml.held) ? aml.held : [];
    const rows = held.map((h) => {
      const row = html('tr', { 'data-chart': 'held', 'data-currency': h.currency, 'data-count': h.count, 'data-volume': h.volume });
      row.append(html('td', {}, h.currency), html('td', { class: 'num' }, h.count), html('td', { class: 'num money' }, groupDigits(h.volume)));
      return row;
    });
    if (rows.length === 0) {
      const row = html('tr');
      row.append(html('td', { colspan: 3, class: 'empty' }, 'Nothing on hold'));
      rows.push(row);
    }
    document.querySelector('#aml-held tbody').replaceChildren(...rows);
    return held;
  }

  function drawFigures(data, held) {
    const registered = data.users ? data.users.registered : 0;
    const figure = $('fig-registered');
    figure.textContent = registered;
    figure.setAttribute('data-chart', 'users');
    figure.setAttribute('data-key', 'registered');
    figure.setAttribute('data-count', registered);
    const funnel = data.kyc_funnel || {};
    $('fig-verified').textContent = (funnel.users_by_status || {}).verified ?? 0;
    $('fig-held').textContent = held.reduce((sum, h) => sum + Number(h.count), 0);
    $('fig-holds').textContent = (data.aml || {}).holds_opened ?? 0;
  }

  function render(data) {
    drawVolume(data);
    drawTiers(data.users);
    drawFunnel(data.kyc_funnel || {});
    const held = drawAml(data.aml || {});
    drawFigures(data, held);
    $('period').textContent = `${data.from} → ${data.to} (UTC)`;
    const main = $('dashboard');
    generation += 1;
    main.dataset.generation = String(generation);
    main.dataset.from = data.from;
    main.dataset.to = data.to;
    main.hidden = false;
  }

  // ---- state ----------------------------------------------------------------------------

  function showError(message) {
    const banner = $('error');
    banner.textContent = message;
    banner.hidden = false;
  }
  function clearError() {
    $('error').hidden = true;
    $('error').textContent = '';
  }
  function setLive(state, text) {
    $('live').dataset.state = state;
    if (text) $('updated').textContent = text;
  }
  function token() {
    try {
      return sessionStorage.getItem(TOKEN_KEY);
    } catch (_) {
      return null;
    }
  }
  function stop() {
    clearTimeout(timer);
    timer = null;
  }
  function schedule() {
    stop();
    timer = setTimeout(refresh, REFRESH_MS);
  }
  function askForToken(message) {
    stop();
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch (_) { /* storage disabled: nothing to forget */ }
    $('dashboard').hidden = true;
    $('sign-out').hidden = true;
    $('token-form').hidden = false;
    if (message) showError(message);
    setLive('stopped', 'no staff token');
  }

  async function problemDetail(response) {
    try {
      const body = await response.json();
      return body.detail || body.title || response.statusText;
    } catch (_) {
      return response.statusText || 'no detail';
    }
  }

  async function refresh() {
    if (running) return;
    const bearer = token();
    if (!bearer) {
      askForToken(null);
      return;
    }
    running = true;
    try {
      let response;
      try {
        response = await fetch(API, {
          headers: { Authorization: `Bearer ${bearer}`, Accept: 'application/json' },
          cache: 'no-store',
          credentials: 'omit',
          redirect: 'error',
          referrerPolicy: 'no-referrer',
        });
      } catch (error) {
        showError(`Cannot reach the reporting API (${error.message}); retrying every ${REFRESH_MS / 1000} s.`);
        setLive('stale');
        schedule();
        return;
      }
      if (response.status === 401) {
        askForToken(`The token was refused (401 ${await problemDetail(response)}): it is missing, expired or revoked. Paste a fresh staff access token.`);
        return;
      }
      if (response.status === 403) {
        askForToken(`This token may not read the dashboard (403 ${await problemDetail(response)}). The dashboard is for staff: paste a staff access token.`);
        return;
      }
      if (!response.ok) {
        showError(`The reporting API answered ${response.status}: ${await problemDetail(response)}; retrying.`);
        setLive('stale');
        schedule();
        return;
      }
      let data;
      try {
        data = await response.json();
      } catch (error) {
        showError(`The reporting API sent something that is not JSON (${error.message}); retrying.`);
        setLive('stale');
        schedule();
        return;
      }
      try {
        render(data);
      } catch (error) {
        showError(`The dashboard could not draw the report (${error.message}); retrying.`);
        setLive('stale');
        schedule();
        return;
      }
      clearError();
      $('sign-out').hidden = false;
      setLive('live', `updated ${new Date().toISOString().slice(11, 19)} UTC`);
      schedule();
    } finally {
      running = false;
    }
  }

  function takeTokenFromFragment() {
    const fragment = location.hash.replace(/^#/, '');
    if (!fragment) return;
    const found = new URLSearchParams(fragment).get('token');
    if (found) {
      try {
        sessionStorage.setItem(TOKEN_KEY, found.trim());
      } catch (_) {
        showError('This browser refuses session storage; paste the token below instead.');
      }
    }
    // The token never stays in the address bar, the history or a bookmark.
    history.replaceState(null, '', location.pathname + location.search);
  }

  function start() {
    takeTokenFromFragment();
    $('token-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const input = $('token-input');
      const value = input.value.trim();
      input.value = '';
      if (!value) return;
      try {
        sessionStorage.setItem(TOKEN_KEY, value);
      } catch (_) {
        showError('This browser refuses session storage, so the token cannot be kept.');
        return;
      }
      $('token-form').hidden = true;
      clearError();
      refresh();
    });
    $('sign-out').addEventListener('click', () => askForToken(null));
    window.addEventListener('hashchange', () => {
      takeTokenFromFragment();
      $('token-form').hidden = true;
      clearError();
      refresh();
    });
    refresh();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
