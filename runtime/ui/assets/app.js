// Ember web UI: renders the driver's /api/v1 REST API. No dependencies.
// Every string from the API goes into the DOM as a text node or an attribute.
'use strict';
(() => {
  const SVGNS = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);
  const enc = encodeURIComponent;

  // ---- DOM helpers --------------------------------------------------------
  function add(el, kids) {
    for (const k of kids) {
      if (k == null || k === false) continue;
      if (Array.isArray(k)) add(el, k);
      else el.appendChild(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return el;
  }
  function attrs(el, a) {
    if (a) {
      for (const [k, v] of Object.entries(a)) {
        if (v != null && v !== false) el.setAttribute(k, String(v));
      }
    }
    return el;
  }
  const h = (tag, a, ...kids) => add(attrs(document.createElement(tag), a), kids);
  const s = (tag, a, ...kids) => add(attrs(document.createElementNS(SVGNS, tag), a), kids);
  const link = (href, ...kids) => h('a', { href }, ...kids);
  const td = (text, cls) => h('td', cls ? { class: cls } : null, text);
  const num = (text) => td(text, 'num');
  const trunc = (str, n) => (str.length > n ? str.slice(0, n - 1) + '\u2026' : str);

  // ---- Formatting -----------------------------------------------------------
  function parseTime(t) {
    if (t == null || t === '') return NaN;
    if (typeof t === 'number') return t;
    return Date.parse(String(t).replace(/GMT$/, 'Z'));
  }
  const pad = (n) => String(n).padStart(2, '0');
  function clock(d) {
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  function fmtTime(t) {
    const ms = parseTime(t);
    if (!Number.isFinite(ms)) return '-';
    const d = new Date(ms);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(d)}`;
  }
  const tm = (t) => td(fmtTime(t), 'time');
  function fmtDur(ms) {
    if (ms == null || !Number.isFinite(ms)) return '-';
    ms = Math.max(0, ms);
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
    if (ms < 3600000) return `${(ms / 60000).toFixed(1)} min`;
    return `${(ms / 3600000).toFixed(1)} h`;
  }
  function fmtBytes(b) {
    if (b == null || !Number.isFinite(b)) return '-';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    let i = 0;
    while (Math.abs(b) >= 1024 && i < units.length - 1) { b /= 1024; i++; }
    return i ? `${b.toFixed(1)} ${units[i]}` : `${b} B`;
  }
  const fmtNum = (n) => (n == null || !Number.isFinite(Number(n)) ? '-' : Number(n).toLocaleString('en-US'));
  // Bytes with an optional record count: "1.2 KiB / 30".
  const bytesRecs = (b, r) => (r ? `${fmtBytes(b || 0)} / ${fmtNum(r)}` : fmtBytes(b || 0));
  // Elapsed time from start to end, or to now when live and not ended.
  function elapsed(start, end, live, now) {
    const a = parseTime(start);
    let b = parseTime(end);
    if (!Number.isFinite(a)) return NaN;
    if (!Number.isFinite(b)) { if (!live) return NaN; b = now; }
    return b - a;
  }

  // Status words mapped to a colour group used by style.css.
  const GROUP = {
    SUCCEEDED: 'ok', COMPLETE: 'ok', SUCCESS: 'ok',
    RUNNING: 'run', ACTIVE: 'run',
    FAILED: 'fail',
    KILLED: 'grey', SKIPPED: 'grey',
    PENDING: 'pending',
  };
  const group = (st) => GROUP[st] || 'pending';
  const badge = (st) => h('span', { class: `badge st-${group(st)}` }, st || '-');

  function failure(text) {
    const full = String(text);
    return h('div', { class: 'failure', title: full }, trunc(full, 200));
  }

  // Partitions done, counted once however many attempts succeeded (what the
  // progress bars show), or the successes when the API has no such figure.
  const doneOf = (x) => (x.numCompletedIndices != null ? x.numCompletedIndices
    : (x.numCompletedTasks != null ? x.numCompletedTasks : x.numCompleteTasks) || 0);

  function progress(done, running, failed, total) {
    done = done || 0; running = running || 0; failed = failed || 0; total = total || 0;
    const pct = (x) => (total > 0 ? Math.min(100, Math.max(0, (x * 100) / total)) : 0);
    const d = pct(done);
    const r = Math.min(100 - d, pct(running));
    let label = `${done}/${total}`;
    if (failed > 0) label += ` (${failed} failed)`;
    const barDone = h('div', { class: 'bar-done' });
    barDone.style.width = `${d.toFixed(2)}%`;
    const barRun = h('div', { class: 'bar-running' });
    barRun.style.left = `${d.toFixed(2)}%`;
    barRun.style.width = `${r.toFixed(2)}%`;
    return h('div', { class: 'progress', title: label }, barDone, barRun,
      h('span', { class: 'progress-label' }, label));
  }

  function table(id, headers, rows, empty) {
    const body = h('tbody', null, rows);
    if (!rows.length) {
      body.appendChild(h('tr', { class: 'empty' }, h('td', { colspan: headers.length }, empty || 'None')));
    }
    return h('table', { id, class: 'data' },
      h('thead', null, h('tr', null, headers.map((x) => h('th', null, x)))), body);
  }
  function section(title, count, ...kids) {
    return h('section', null, h('h3', null, count == null ? title : `${title} (${count})`), kids);
  }
  function summary(id, pairs) {
    return h('dl', { id, class: 'summary' },
      pairs.filter((p) => p && p[1] != null && p[1] !== '').map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
  }

  // ---- Links ---------------------------------------------------------------
  const appHref = (app, page) => `#/apps/${enc(app)}/${page}`;
  const jobHref = (app, id) => appHref(app, `jobs/${enc(id)}`);
  const stageHref = (app, id, att) => appHref(app, `stages/${enc(id)}/${enc(att)}`);

  // ---- REST ----------------------------------------------------------------
  let ctrl = null;
  class FetchError extends Error {}
  async function api(path) {
    const url = `api/v1/${path}`;
    let r;
    try {
      r = await fetch(url, { signal: ctrl.signal, cache: 'no-store', headers: { Accept: 'application/json' } });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      const err = new FetchError(`cannot reach the server (${e.message})`);
      err.detail = url;
      throw err;
    }
    const text = await r.text();
    let body;
    try { body = JSON.parse(text); } catch (_) { body = undefined; }
    if (!r.ok) {
      const msg = body && typeof body.error === 'string' ? body.error
        : (text.trim().slice(0, 200) || `HTTP ${r.status} ${r.statusText}`);
      const e = new FetchError(msg);
      e.detail = `HTTP ${r.status} from ${url}`;
      throw e;
    }
    if (body === undefined) {
      const e = new FetchError(`the answer from ${url} is not JSON`);
      e.detail = `HTTP ${r.status} from ${url}`;
      throw e;
    }
    return body;
  }
  const appApi = (app, rest) => api(`applications/${enc(app)}${rest ? '/' + rest : ''}`);
  const lastAttempt = (app) => (app && Array.isArray(app.attempts) && app.attempts[0]) || {};

  // ---- Routing -------------------------------------------------------------
  function parseHash() {
    const parts = location.hash.replace(/^#\/?/, '').split('/').filter((p) => p !== '')
      .map((p) => { try { return decodeURIComponent(p); } catch (_) { return p; } });
    if (!parts.length) return { page: 'home', key: 'home' };
    const isId = (x) => /^\d+$/.test(x);
    const [root, app, page = 'jobs', a, b, ...extra] = parts;
    const bad = { page: 'notfound', key: 'notfound', app };
    if (root !== 'apps' || app == null || extra.length) return bad;
    const r = { app, page, key: parts.join('/') };
    if (page === 'jobs' && a != null) {
      if (!isId(a) || b != null) return bad;
      return Object.assign(r, { page: 'job', job: a });
    }
    if (page === 'stages' && a != null) {
      if (!isId(a) || (b != null && !isId(b))) return bad;
      return Object.assign(r, { page: 'stage', stage: a, attempt: b == null ? '0' : b });
    }
    if (a != null || !['jobs', 'stages', 'executors', 'environment'].includes(page)) return bad;
    return r;
  }

  // ---- Pages ---------------------------------------------------------------
  function appsPage(apps, now) {
    const rows = apps.map((a) => {
      const at = lastAttempt(a);
      const dur = Number.isFinite(at.duration) && at.completed ? at.duration
        : elapsed(at.startTime, at.endTime, !at.completed, now);
      return h('tr', { class: 'app', 'data-app-id': a.id, 'data-completed': at.completed ? 'true' : 'false' },
        td(a.id), h('td', null, link(appHref(a.id, 'jobs'), a.name || a.id)),
        tm(at.startTime), tm(at.endTime), num(fmtDur(dur)),
        td(at.sparkUser || '-'), td(at.completed ? 'yes' : 'no'));
    });
    return section('Applications', apps.length,
      table('apps', ['App ID', 'Name', 'Started', 'Ended', 'Duration', 'User', 'Completed'], rows,
        'No applications.'));
  }

  function jobRow(app, j, now) {
    const dur = elapsed(j.submissionTime, j.completionTime, j.status === 'RUNNING', now);
    const total = (j.stageIds || []).length - (j.numSkippedStages || 0);
    let stages = `${j.numCompletedStages || 0}/${total}`;
    if (j.numSkippedStages) stages += ` (skipped ${j.numSkippedStages})`;
    if (j.numFailedStages) stages += ` (failed ${j.numFailedStages})`;
    return h('tr', {
      class: 'job', 'data-job-id': j.jobId, 'data-status': j.status,
      'data-completed': doneOf(j), 'data-total': j.numTasks || 0,
    },
    h('td', null, link(jobHref(app, j.jobId), String(j.jobId))),
    h('td', { class: 'name' }, link(jobHref(app, j.jobId), j.name || '-'),
      j.failureReason ? failure(j.failureReason) : null),
    h('td', null, badge(j.status)),
    tm(j.submissionTime), num(fmtDur(dur)), td(stages),
    h('td', { class: 'bar' }, progress(doneOf(j), j.numActiveTasks, j.numFailedTasks, j.numTasks)));
  }
  const JOB_HEAD = ['Job ID', 'Description', 'Status', 'Submitted', 'Duration', 'Stages', 'Tasks'];

  function jobsPage(app, jobs, now) {
    jobs = jobs.slice().sort((x, y) => y.jobId - x.jobId);
    const active = jobs.filter((j) => j.status === 'RUNNING');
    const done = jobs.filter((j) => j.status !== 'RUNNING');
    return [
      section('Active Jobs', active.length,
        table('active-jobs', JOB_HEAD, active.map((j) => jobRow(app, j, now)), 'No active jobs.')),
      section('Completed Jobs', done.length,
        table('completed-jobs', JOB_HEAD, done.map((j) => jobRow(app, j, now)), 'No completed jobs.')),
    ];
  }

  function stageRow(app, st, now) {
    const start = st.firstTaskLaunchedTime || st.submissionTime;
    const dur = elapsed(start, st.completionTime, st.status === 'ACTIVE', now);
    const href = stageHref(app, st.stageId, st.attemptId);
    return h('tr', {
      class: 'stage', 'data-stage-id': st.stageId, 'data-attempt-id': st.attemptId,
      'data-status': st.status, 'data-completed': doneOf(st), 'data-total': st.numTasks || 0,
    },
    h('td', null, link(href, String(st.stageId))), num(st.attemptId),
    h('td', { class: 'name' }, link(href, st.name || '-'), st.failureReason ? failure(st.failureReason) : null),
    h('td', null, badge(st.status)),
    tm(st.submissionTime), num(fmtDur(dur)),
    h('td', { class: 'bar' }, progress(doneOf(st), st.numActiveTasks, st.numFailedTasks, st.numTasks)),
    num(fmtBytes(st.inputBytes || 0)), num(fmtBytes(st.outputBytes || 0)),
    num(fmtBytes(st.shuffleReadBytes || 0)), num(fmtBytes(st.shuffleWriteBytes || 0)),
    num(fmtBytes(st.diskBytesSpilled || 0)));
  }
  const STAGE_HEAD = ['Stage ID', 'Attempt', 'Description', 'Status', 'Submitted', 'Duration', 'Tasks',
    'Input', 'Output', 'Shuffle Read', 'Shuffle Write', 'Spill'];
  const stageOrder = (x, y) => (y.stageId - x.stageId) || (y.attemptId - x.attemptId);

  function stagesPage(app, stages, now) {
    stages = stages.slice().sort(stageOrder);
    const groups = [['Active Stages', 'active-stages', 'ACTIVE'], ['Pending Stages', 'pending-stages', 'PENDING'],
      ['Completed Stages', 'completed-stages', 'COMPLETE'], ['Failed Stages', 'failed-stages', 'FAILED'],
      ['Skipped Stages', 'skipped-stages', 'SKIPPED']];
    return groups.map(([title, id, status]) => {
      const list = stages.filter((st) => st.status === status);
      return section(title, list.length, table(id, STAGE_HEAD, list.map((st) => stageRow(app, st, now))));
    });
  }

  // Latest attempt of each stage id.
  function latestAttempts(stages) {
    const m = new Map();
    for (const st of stages) {
      const cur = m.get(st.stageId);
      if (!cur || st.attemptId > cur.attemptId) m.set(st.stageId, st);
    }
    return m;
  }

  function dagSvg(app, dag, latest) {
    const byId = new Map(dag.map((d) => [d.stageId, d]));
    const depth = new Map();
    const depthOf = (id, seen) => {
      if (depth.has(id)) return depth.get(id);
      if (seen.has(id)) return 0; // a cycle should not happen; do not loop on it
      seen.add(id);
      let d = 0;
      for (const p of byId.get(id).parentIds || []) if (byId.has(p)) d = Math.max(d, depthOf(p, seen) + 1);
      depth.set(id, d);
      return d;
    };
    const cols = [];
    for (const d of dag) {
      const c = depthOf(d.stageId, new Set());
      (cols[c] = cols[c] || []).push(d);
    }

    const W = 210, GAP_X = 70, GAP_Y = 22, LINE = 15, MAX_OPS = 12, PAD = 16;
    const box = new Map();
    let height = 0;
    cols.forEach((col, ci) => {
      let y = PAD;
      for (const d of col) {
        const nOps = Math.min((d.operations || []).length, MAX_OPS + 1);
        const hgt = 44 + nOps * LINE + 8;
        box.set(d.stageId, { x: PAD + ci * (W + GAP_X), y, h: hgt });
        y += hgt + GAP_Y;
      }
      height = Math.max(height, y - GAP_Y + PAD);
    });
    const width = PAD * 2 + cols.length * W + Math.max(0, cols.length - 1) * GAP_X;
    const svg = s('svg', { id: 'job-dag', width, height, viewBox: `0 0 ${width} ${height}` },
      s('defs', null, s('marker', {
        id: 'dag-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto',
      }, s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'dag-arrowhead' }))));

    for (const d of dag) {
      const c = box.get(d.stageId);
      for (const p of d.parentIds || []) {
        const pb = box.get(p);
        if (!pb) continue;
        const x1 = pb.x + W, y1 = pb.y + pb.h / 2, x2 = c.x - 2, y2 = c.y + c.h / 2, mx = (x1 + x2) / 2;
        svg.appendChild(s('path', {
          class: 'dag-edge', 'data-from': p, 'data-to': d.stageId,
          d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, 'marker-end': 'url(#dag-arrow)',
        }));
      }
    }
    for (const d of dag) {
      const c = box.get(d.stageId);
      const att = latest.get(d.stageId);
      const status = d.skipped ? 'SKIPPED' : (att ? att.status : 'PENDING');
      const ops = d.operations || [];
      const shown = ops.length > MAX_OPS + 1 ? ops.slice(0, MAX_OPS).concat(`\u2026 ${ops.length - MAX_OPS} more`) : ops;
      const texts = [
        s('text', { x: c.x + 10, y: c.y + 18, class: 'dag-title' }, `Stage ${d.stageId}`,
          s('tspan', { class: 'dag-status' }, ` ${status.toLowerCase()}`)),
        s('text', { x: c.x + 10, y: c.y + 35, class: 'dag-name' }, trunc(String(d.name || ''), 30)),
        shown.map((op, i) => s('text', { x: c.x + 14, y: c.y + 54 + i * LINE, class: 'dag-op' },
          trunc(String(op), 30))),
      ];
      const title = s('title', null,
        `Stage ${d.stageId}: ${d.name || ''} (${status}, ${d.numTasks ?? '?'} tasks)\n${ops.join('\n')}`);
      const body = [s('rect', { x: c.x, y: c.y, width: W, height: c.h, rx: 5, class: 'dag-box' }),
        s('line', { x1: c.x, x2: c.x + W, y1: c.y + 42, y2: c.y + 42, class: 'dag-sep' }), texts];
      svg.appendChild(s('g', {
        class: `dag-stage st-${group(status)}`, 'data-stage-id': d.stageId, 'data-status': status,
      }, title, att ? s('a', { href: stageHref(app, att.stageId, att.attemptId) }, body) : body));
    }
    return svg;
  }

  function jobPage(app, job, stages, now) {
    const ids = new Set([...(job.stageIds || []), ...(job.dag || []).map((d) => d.stageId)]);
    const mine = stages.filter((st) => ids.has(st.stageId)).sort(stageOrder);
    const dur = elapsed(job.submissionTime, job.completionTime, job.status === 'RUNNING', now);
    const dag = job.dag || [];
    return [
      h('h2', null, `Job ${job.jobId}: `, job.name || ''),
      summary('job-summary', [
        ['Status', badge(job.status)], ['Submitted', fmtTime(job.submissionTime)],
        ['Completed', job.completionTime ? fmtTime(job.completionTime) : null], ['Duration', fmtDur(dur)],
        ['Stages', `${job.numCompletedStages || 0} completed, ${job.numActiveStages || 0} active, `
          + `${job.numSkippedStages || 0} skipped, ${job.numFailedStages || 0} failed`],
        ['Tasks', progress(doneOf(job), job.numActiveTasks, job.numFailedTasks, job.numTasks)],
        ['Failure reason', job.failureReason ? h('span', { class: 'failure-full' }, job.failureReason) : null],
      ]),
      section('Stage graph', null, dag.length ? h('div', { class: 'scroll' }, dagSvg(app, dag, latestAttempts(stages)))
        : h('p', { class: 'note' }, 'No stage graph.')),
      section('Stages', mine.length, table('job-stages', STAGE_HEAD, mine.map((st) => stageRow(app, st, now)))),
    ];
  }

  function quantLabel(q) {
    if (q === 0) return 'Min';
    if (q === 1) return 'Max';
    if (q === 0.5) return 'Median';
    return `${+(q * 100).toFixed(2)}th percentile`;
  }
  function taskSummaryTable(ts) {
    const qs = (ts && ts.quantiles) || [];
    const g = (obj, k) => (obj && Array.isArray(obj[k]) ? obj[k] : []);
    const metrics = [
      ['duration', 'Duration', g(ts, 'duration'), null, fmtDur],
      ['executorRunTime', 'Run time', g(ts, 'executorRunTime'), null, fmtDur],
      ['input', 'Input (size / records)', g(ts && ts.inputMetrics, 'bytesRead'), g(ts && ts.inputMetrics, 'recordsRead')],
      ['output', 'Output (size / records)', g(ts && ts.outputMetrics, 'bytesWritten'),
        g(ts && ts.outputMetrics, 'recordsWritten')],
      ['shuffleRead', 'Shuffle read (size / records)', g(ts && ts.shuffleReadMetrics, 'readBytes'),
        g(ts && ts.shuffleReadMetrics, 'readRecords')],
      ['shuffleWrite', 'Shuffle write (size / records)', g(ts && ts.shuffleWriteMetrics, 'writeBytes'),
        g(ts && ts.shuffleWriteMetrics, 'writeRecords')],
      ['diskBytesSpilled', 'Spill (disk)', g(ts, 'diskBytesSpilled'), null, fmtBytes],
    ];
    const anyData = metrics.some((m) => m[2].length);
    const rows = anyData ? metrics.map(([key, label, vals, recs, fmt]) => h('tr', { class: 'metric', 'data-metric': key },
      h('th', null, label),
      qs.map((_, i) => num(fmt ? fmt(vals[i]) : bytesRecs(vals[i], recs && recs[i]))))) : [];
    return table('task-summary', ['Metric', ...qs.map(quantLabel)], rows, 'No successful tasks yet.');
  }

  function niceStep(span) {
    const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5,
      9e5, 18e5, 36e5, 72e5, 144e5, 288e5, 864e5];
    return steps.find((st) => span / st <= 8) || 864e5 * Math.ceil(span / 864e5 / 8);
  }

  // Axis offsets: "250 ms", "1.5 s", "2m15s", "1h30m".
  function fmtTick(ms) {
    if (ms < 1000) return `${ms} ms`;
    if (ms < 60000) return `${+(ms / 1000).toFixed(1)} s`;
    const sec = Math.round(ms / 1000);
    if (sec < 3600) return `${Math.floor(sec / 60)}m${sec % 60 ? `${sec % 60}s` : ''}`;
    const min = Math.round(sec / 60);
    return `${Math.floor(min / 60)}h${min % 60 ? `${min % 60}m` : ''}`;
  }
  function timelineSvg(tasks, now) {
    const LIMIT = 2000;
    let items = tasks.map((t) => {
      const st = parseTime(t.launchTime);
      if (!Number.isFinite(st)) return null;
      const en = t.status === 'RUNNING' ? Math.max(now, st) : st + Math.max(0, t.duration || 0);
      return { t, st, en };
    }).filter(Boolean);
    const dropped = Math.max(0, items.length - LIMIT);
    if (dropped) items = items.sort((a, b) => b.st - a.st).slice(0, LIMIT);
    if (!items.length) return h('p', { class: 'note' }, 'No launched tasks.');
    const t0 = Math.min(...items.map((i) => i.st));
    const t1 = Math.max(...items.map((i) => i.en));
    const span = Math.max(t1 - t0, 1);
    const lanes = new Map();
    for (const it of items.sort((a, b) => a.st - b.st || a.t.taskId - b.t.taskId)) {
      const id = String(it.t.executorId ?? '?');
      if (!lanes.has(id)) lanes.set(id, []);
      const rows = lanes.get(id);
      let r = rows.findIndex((end) => end <= it.st);
      if (r < 0) { r = rows.length; rows.push(0); }
      rows[r] = Math.max(it.en, it.st + 1);
      it.row = r;
    }
    const ids = [...lanes.keys()].sort(execOrder);
    const W = 1180, L = 130, R = W - 12, TOP = 26, ROW = 12, LPAD = 5;
    const x = (t) => L + ((t - t0) / span) * (R - L);
    let y = TOP;
    const laneY = new Map();
    const laneEls = ids.map((id, i) => {
      const hgt = lanes.get(id).length * (ROW + 2) + LPAD * 2;
      laneY.set(id, y);
      const g = s('g', { class: 'lane', 'data-executor-id': id },
        s('rect', { x: 0, y, width: W, height: hgt, class: i % 2 ? 'lane-bg odd' : 'lane-bg' }),
        s('text', { x: 8, y: y + Math.min(hgt / 2 + 4, 16), class: 'lane-label' },
          trunc(id === 'driver' ? 'driver' : `executor ${id}`, 18)));
      y += hgt;
      return g;
    });
    const height = y + 6;
    const svg = s('svg', { id: 'timeline', width: W, height, viewBox: `0 0 ${W} ${height}` });
    const step = niceStep(span);
    const axis = s('g', { class: 'axis' });
    for (let t = 0; t <= span; t += step) {
      axis.appendChild(s('line', { x1: x(t0 + t), x2: x(t0 + t), y1: TOP - 6, y2: height - 6, class: 'tick' }));
      axis.appendChild(s('text', { x: x(t0 + t), y: TOP - 10, class: 'tick-label' }, t ? `+${fmtTick(t)}` : clock(new Date(t0))));
    }
    add(svg, [laneEls, axis]);
    for (const it of items) {
      const t = it.t;
      const bx = x(it.st);
      const tip = `Task ${t.taskId} (partition ${t.index}, attempt ${t.attempt}) ${t.status}\n`
        + `executor ${t.executorId}, launched ${fmtTime(t.launchTime)}, ${fmtDur(it.en - it.st)}`
        + (t.errorMessage ? `\n${trunc(String(t.errorMessage), 300)}` : '');
      svg.appendChild(s('rect', {
        class: `task-bar st-${group(t.status)}`, 'data-task-id': t.taskId, 'data-status': t.status,
        x: bx.toFixed(1), y: laneY.get(String(t.executorId ?? '?')) + LPAD + it.row * (ROW + 2),
        width: Math.max(2, x(it.en) - bx).toFixed(1), height: ROW,
      }, s('title', null, tip)));
    }
    const legend = h('div', { class: 'legend' },
      ['SUCCESS', 'RUNNING', 'FAILED', 'KILLED'].map((st) => h('span', null, h('i', { class: `st-${group(st)}` }), st.toLowerCase())),
      dropped ? h('span', null, `(${dropped} older tasks not drawn)`) : null);
    return [h('div', { class: 'scroll' }, svg), legend];
  }

  function taskRow(t, now) {
    const m = t.taskMetrics || {};
    const sr = m.shuffleReadMetrics || {};
    const dur = t.status === 'RUNNING' ? elapsed(t.launchTime, null, true, now) : t.duration;
    const err = t.errorMessage ? String(t.errorMessage) : '';
    return h('tr', { class: 'task', 'data-task-id': t.taskId, 'data-status': t.status },
      num(t.taskId), num(t.index), num(t.attempt), h('td', null, badge(t.status)),
      td(t.executorId ?? '-'), td(t.host ?? '-'), tm(t.launchTime), num(fmtDur(dur)),
      num(fmtDur(m.executorRunTime)), num(fmtNum((m.inputMetrics || {}).recordsRead ?? (sr.recordsRead || 0))),
      num(fmtBytes((sr.remoteBytesRead || 0) + (sr.localBytesRead || 0))),
      num(fmtBytes((m.shuffleWriteMetrics || {}).bytesWritten || 0)), num(fmtBytes(m.diskBytesSpilled || 0)),
      h('td', err ? { class: 'error-text', title: err } : null, trunc(err, 200)));
  }

  function stagePage(app, st, now) {
    const raw = st.tasks || {};
    const tasks = (Array.isArray(raw) ? raw : Object.values(raw)).slice().sort((a, b) => a.taskId - b.taskId);
    const MAX = 1000;
    const shown = tasks.slice(0, MAX);
    const start = st.firstTaskLaunchedTime || st.submissionTime;
    const dur = elapsed(start, st.completionTime, st.status === 'ACTIVE', now);
    const jobs = (st.jobIds || []).map((j, i) => [i ? ', ' : '', link(jobHref(app, j), String(j))]);
    return [
      h('h2', null, `Stage ${st.stageId} (attempt ${st.attemptId}): `, st.name || ''),
      summary('stage-summary', [
        ['Status', badge(st.status)], ['Jobs', jobs.length ? jobs : null],
        ['Tasks', `${st.numCompleteTasks || 0} complete, ${st.numActiveTasks || 0} running, `
          + `${st.numFailedTasks || 0} failed, ${st.numKilledTasks || 0} killed, ${st.numTasks || 0} total`],
        ['Submitted', fmtTime(st.submissionTime)], ['Duration', fmtDur(dur)],
        ['Executor run time', fmtDur(st.executorRunTime || 0)],
        ['Input', bytesRecs(st.inputBytes, st.inputRecords)], ['Output', bytesRecs(st.outputBytes, st.outputRecords)],
        ['Shuffle read', bytesRecs(st.shuffleReadBytes, st.shuffleReadRecords)],
        ['Shuffle write', bytesRecs(st.shuffleWriteBytes, st.shuffleWriteRecords)],
        ['Spill (memory / disk)', `${fmtBytes(st.memoryBytesSpilled || 0)} / ${fmtBytes(st.diskBytesSpilled || 0)}`],
        ['Failure reason', st.failureReason ? h('span', { class: 'failure-full' }, st.failureReason) : null],
      ]),
      section('Summary metrics of successful tasks', null, taskSummaryTable(st.taskSummary)),
      section('Event timeline', null, timelineSvg(tasks, now)),
      section('Tasks', tasks.length,
        tasks.length > MAX ? h('p', { id: 'tasks-omitted', class: 'note' },
          `Showing the first ${MAX} tasks; ${tasks.length - MAX} more omitted.`) : null,
        table('tasks', ['Task ID', 'Index', 'Attempt', 'Status', 'Executor', 'Host', 'Launch Time', 'Duration',
          'Run Time', 'Input Records', 'Shuffle Read', 'Shuffle Write', 'Spill', 'Error'],
        shown.map((t) => taskRow(t, now)), 'No tasks.')),
    ];
  }

  function execOrder(a, b) {
    const ka = a === 'driver' ? -1 : (/^\d+$/.test(a) ? Number(a) : Infinity);
    const kb = b === 'driver' ? -1 : (/^\d+$/.test(b) ? Number(b) : Infinity);
    return ka - kb || (a < b ? -1 : a > b ? 1 : 0);
  }

  function executorsPage(execs) {
    execs = execs.slice().sort((a, b) => execOrder(String(a.id), String(b.id)));
    const keys = ['totalCores', 'activeTasks', 'failedTasks', 'completedTasks', 'totalTasks', 'totalDuration',
      'totalInputBytes', 'totalShuffleRead', 'totalShuffleWrite', 'diskBytesSpilled', 'memoryUsed'];
    const cells = (e) => [num(fmtNum(e.totalCores)), num(fmtNum(e.activeTasks)), num(fmtNum(e.failedTasks)),
      num(fmtNum(e.completedTasks)), num(fmtNum(e.totalTasks)), num(fmtDur(e.totalDuration || 0)),
      num(fmtBytes(e.totalInputBytes || 0)), num(fmtBytes(e.totalShuffleRead || 0)),
      num(fmtBytes(e.totalShuffleWrite || 0)), num(fmtBytes(e.diskBytesSpilled || 0)), num(fmtBytes(e.memoryUsed || 0))];
    const rows = execs.map((e) => {
      const reason = e.removeReason ? String(e.removeReason) : '';
      return h('tr', { class: 'executor', 'data-executor-id': e.id, 'data-active': e.isActive ? 'true' : 'false' },
        td(e.id), td(e.hostPort || '-'),
        h('td', reason ? { title: reason } : null, e.isActive ? h('span', { class: 'badge st-ok' }, 'Active')
          : [h('span', { class: 'badge st-fail' }, 'Dead'), reason ? ` ${trunc(reason, 80)}` : null]),
        cells(e));
    });
    const tot = {};
    for (const k of keys) tot[k] = execs.reduce((acc, e) => acc + (Number(e[k]) || 0), 0);
    const alive = execs.filter((e) => e.isActive).length;
    if (execs.length) {
      rows.push(h('tr', { class: 'totals' }, h('th', null, 'Total'), td(''),
        td(`${alive} active, ${execs.length - alive} dead`), cells(tot)));
    }
    return section('Executors', execs.length, table('executors', ['Executor ID', 'Address', 'Status', 'Cores',
      'Active Tasks', 'Failed Tasks', 'Completed Tasks', 'Total Tasks', 'Task Time', 'Input', 'Shuffle Read',
      'Shuffle Write', 'Spill', 'Cached'], rows, 'No executors.'));
  }

  function environmentPage(env) {
    const rt = Object.entries(env.runtime || {});
    const props = (env.sparkProperties || []).slice()
      .sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : String(a[0]) > String(b[0]) ? 1 : 0));
    return [
      section('Runtime', null, table('runtime', ['Name', 'Value'],
        rt.map(([k, v]) => h('tr', { class: 'runtime' }, td(k), td(typeof v === 'object' ? JSON.stringify(v) : v))))),
      section('Properties', props.length, table('environment', ['Name', 'Value'],
        props.map(([k, v]) => h('tr', { class: 'property' }, td(k), td(v ?? ''))), 'No properties.')),
    ];
  }

  // ---- Loading and refreshing ----------------------------------------------
  async function load(route) {
    const now = () => Date.now();
    if (route.page === 'home') {
      const apps = await api('applications');
      if (Array.isArray(apps) && apps.length === 1) {
        history.replaceState(null, '', appHref(apps[0].id, 'jobs'));
        return load(parseHash());
      }
      return { node: appsPage(apps || [], now()), done: (apps || []).every((a) => lastAttempt(a).completed) };
    }
    if (route.page === 'notfound') throw new FetchError(`no such page: ${location.hash}`);
    const a = route.app;
    const page = {
      jobs: () => appApi(a, 'jobs'),
      job: () => Promise.all([appApi(a, `jobs/${route.job}`), appApi(a, 'stages')]),
      stages: () => appApi(a, 'stages'),
      stage: () => appApi(a, `stages/${route.stage}/${route.attempt}`),
      executors: () => appApi(a, 'allexecutors'),
      environment: () => appApi(a, 'environment'),
    }[route.page];
    const [app, data] = await Promise.all([appApi(a), page()]);
    const t = now();
    const node = {
      jobs: () => jobsPage(a, data, t),
      job: () => jobPage(a, data[0], data[1], t),
      stages: () => stagesPage(a, data, t),
      stage: () => stagePage(a, data, t),
      executors: () => executorsPage(data),
      environment: () => environmentPage(data),
    }[route.page]();
    return { node, app, done: !!lastAttempt(app).completed };
  }

  function header(route, app) {
    const name = $('app-name');
    const status = $('app-status');
    name.textContent = app ? (app.name || app.id) : '';
    if (app) name.setAttribute('title', app.id); else name.removeAttribute('title');
    if (app) {
      const done = !!lastAttempt(app).completed;
      status.textContent = done ? 'completed' : 'running';
      status.setAttribute('data-status', done ? 'completed' : 'running');
      status.className = `badge st-${done ? 'ok' : 'run'}`;
    }
    status.hidden = !app;
    document.title = app ? `${app.name || app.id} - Ember` : 'Ember';
    const section = { job: 'jobs', stage: 'stages' }[route.page] || route.page;
    for (const el of document.querySelectorAll('#nav a[data-page]')) {
      const p = el.getAttribute('data-page');
      el.hidden = !route.app;
      if (route.app) el.setAttribute('href', appHref(route.app, p));
      el.classList.toggle('active', p === section);
    }
    $('nav-apps').classList.toggle('active', route.page === 'home');
  }

  function showError(e) {
    const box = $('error');
    if (!e) { box.textContent = ''; box.removeAttribute('title'); box.hidden = true; return; }
    box.textContent = e.message || String(e);
    if (e.detail) box.setAttribute('title', e.detail); else box.removeAttribute('title');
    box.hidden = false;
  }

  let gen = 0;
  let timer = 0;
  let appDone = false;
  let shownKey = null;

  async function refresh() {
    clearTimeout(timer);
    if (ctrl) ctrl.abort();
    ctrl = new AbortController();
    const my = ++gen;
    let route = parseHash();
    try {
      const view = await load(route);
      if (my !== gen) return;
      route = parseHash(); // the home page may have redirected
      header(route, view.app);
      $('content').replaceChildren(...[view.node].flat());
      shownKey = route.key;
      appDone = view.done;
      showError(null);
      $('updated').textContent = `updated ${clock(new Date())}`;
    } catch (e) {
      if (my !== gen || (e && e.name === 'AbortError')) return;
      if (!(e instanceof FetchError)) console.error(e);
      showError(e);
      if (shownKey !== route.key) {
        header(route, null);
        $('content').replaceChildren();
        shownKey = route.key;
      }
    }
    timer = setTimeout(refresh, appDone ? 10000 : 1000);
  }

  window.addEventListener('hashchange', () => { appDone = false; refresh(); });
  refresh();
})();
