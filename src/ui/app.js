// The virq dashboard: plain JavaScript over the public API, no build step. Served by virq at /ui.
'use strict'
;(function () {
  const $ = (sel) => document.querySelector(sel)
  const el = (tag, attrs = {}, ...children) => {
    const e = document.createElement(tag)
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'class') e.className = v
      else if (k === 'text') e.textContent = v
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : String(v))
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c)
    return e
  }
  const fmt = (n) => (n >= 1e6 ? (n / 1e6).toFixed(1) + 'M' : n >= 1e4 ? (n / 1e3).toFixed(1) + 'k' : String(n))
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim()
  const INDEX_NAMES = ['intx', 'msi', 'msix', 'err', 'req']

  // ---- API access, with a bearer token when the server asks for one ----

  const TOKEN_KEY = 'virq-token'
  let loginPending = null

  async function api (path, opts = {}) {
    const token = sessionStorage.getItem(TOKEN_KEY)
    const headers = Object.assign({ accept: 'application/json' }, opts.headers || {})
    if (token) headers.authorization = 'Bearer ' + token
    const res = await fetch(path, Object.assign({}, opts, { headers }))
    if (res.status === 401 || (res.status === 403 && !opts.noLogin)) {
      const problem = await res.json().catch(() => ({}))
      await askToken(token ? (problem.detail || 'this token was refused') : '')
      return api(path, opts)
    }
    if (!res.ok) throw new Error(path + ': ' + res.status)
    return res
  }
  const json = async (path) => (await api(path)).json()

  /** Every page of a paginated list. */
  async function all (path) {
    const items = []
    let cursor
    do {
      const sep = path.includes('?') ? '&' : '?'
      const page = await json(path + sep + 'limit=1000' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''))
      items.push(...page.items)
      cursor = page.nextCursor
    } while (cursor)
    return items
  }

  function askToken (error) {
    if (loginPending) return loginPending
    const dialog = $('#login')
    $('#login-error').textContent = error
    loginPending = new Promise((resolve) => {
      $('#login-form').onsubmit = () => {
        sessionStorage.setItem(TOKEN_KEY, $('#token').value.trim())
        $('#token').value = ''
        $('#logout').hidden = false
        loginPending = null
        resolve()
      }
    })
    if (!dialog.open) dialog.showModal()
    $('#token').focus()
    return loginPending
  }
  $('#logout').hidden = !sessionStorage.getItem(TOKEN_KEY)
  $('#logout').onclick = () => { sessionStorage.removeItem(TOKEN_KEY); location.reload() }

  // ---- host pool ----

  async function renderPool () {
    const host = await json('/v1/host')
    const { capacity, used, free } = host.hostVectors
    const pool = $('#pool')
    pool.replaceChildren(
      el('span', { text: 'Host vectors' }),
      el('span', { class: 'bar', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': capacity, 'aria-valuenow': used, 'aria-label': 'host vectors used' },
        el('span', { style: 'width:' + (capacity > 0 ? (100 * used / capacity).toFixed(1) : 0) + '%' })),
      el('span', { id: 'pool-text', text: used + ' used / ' + capacity + ' (' + free + ' free)' }))
  }

  // ---- device list ----

  let selected = null

  /** Per device: index summaries and counter totals over every index. */
  async function deviceSummary (dev) {
    const irqs = (await json('/v1/devices/' + dev.id + '/irqs')).items
    let live = 0; let host = 0; let fired = 0; let delivered = 0; let lost = 0
    for (const irq of irqs) {
      if (irq.count === 0) continue
      live += irq.triggers ?? (irq.trigger != null ? 1 : 0)
      host += irq.hostVectors ?? 0
      const vectors = (await json('/v1/devices/' + dev.id + '/irqs/' + irq.index + '/vectors')).items
      for (const v of vectors) { fired += v.fired; delivered += v.delivered; lost += v.lost }
    }
    const rates = await json('/v1/devices/' + dev.id + '/rates?seconds=60&vectors=false')
    return { dev, irqs, live, host, fired, delivered, lost, spark: rates.device }
  }

  function sparkline (series) {
    const w = 100; const h = 22
    const c = el('canvas', { class: 'spark', width: w * devicePixelRatio, height: h * devicePixelRatio, style: 'width:' + w + 'px;height:' + h + 'px', role: 'img' })
    const total = series.fired.reduce((a, b) => a + b, 0)
    c.setAttribute('aria-label', total + ' interrupts in the last minute')
    const g = c.getContext('2d')
    g.scale(devicePixelRatio, devicePixelRatio)
    const max = Math.max(1, ...series.fired)
    const line = (values, color) => {
      g.strokeStyle = color
      g.lineWidth = 1.5
      g.beginPath()
      values.forEach((v, i) => {
        const x = (i / (values.length - 1)) * (w - 2) + 1
        const y = h - 2 - (v / max) * (h - 4)
        if (i === 0) g.moveTo(x, y); else g.lineTo(x, y)
      })
      g.stroke()
    }
    line(series.fired, css('--fired'))
    if (series.lost.some((v) => v > 0)) line(series.lost, css('--lost'))
    return c
  }

  async function renderDevices () {
    const devices = await all('/v1/devices')
    const rows = await Promise.all(devices.map(deviceSummary))
    const body = $('#devices tbody')
    body.replaceChildren(...rows.map((s) => {
      const d = s.dev
      const name = el('a', { href: '#/devices/' + d.id, text: d.name, 'data-device': d.id })
      const tr = el('tr', { 'data-device': d.id, 'data-abi': d.abi, class: d.id === selected ? 'selected' : '' },
        el('td', {}, name),
        el('td', { text: d.abi }),
        el('td', { text: d.irqType }),
        el('td', { class: 'num', text: String(s.live) }),
        el('td', { class: 'num', text: String(s.host) }),
        el('td', { class: 'num', text: fmt(s.fired) }),
        el('td', { class: 'num', text: fmt(s.delivered) }),
        el('td', { class: 'num' + (s.lost > 0 ? ' lost-some' : ''), text: fmt(s.lost) }),
        el('td', {}, sparkline(s.spark)))
      for (const extra of ['driver', 'template']) if (d[extra]) name.title = (name.title ? name.title + ', ' : '') + extra + ' ' + d[extra]
      return tr
    }))
    $('#devices-empty').hidden = rows.length > 0
    $('#devices').dataset.count = String(rows.length)
  }

  // ---- device view ----

  let view = null // { id, chart, data, trace, stream }

  function cellFor (index, v) {
    const classes = ['cell']
    if (v.allocated) classes.push(v.trigger != null ? 'live' : 'allocated')
    if (v.masked) classes.push('masked')
    if (v.pending) classes.push('pending')
    if (v.lost > 0) classes.push('lostsome')
    const details = [
      INDEX_NAMES[index] + ' vector ' + v.vector,
      v.allocated ? 'allocated' : 'not allocated',
      'trigger ' + (v.trigger != null ? 'eventfd ' + v.trigger : 'none'),
      v.masked !== undefined ? (v.masked ? 'masked' + (v.maskedBy ? ' by ' + v.maskedBy.join(', ') : '') : 'unmasked') : null,
      v.pending !== undefined ? (v.pending ? 'pending' : 'not pending') : null,
      v.backing !== undefined ? 'backing ' + (v.backing ?? 'none') : null,
      'fired ' + v.fired + ', delivered ' + v.delivered + ', lost ' + v.lost + (v.pended !== undefined ? ', pended ' + v.pended : '')
    ].filter((x) => x !== null).join('\n')
    return el('span', {
      class: classes.join(' '),
      tabindex: 0,
      title: details,
      role: 'img',
      'aria-label': details.replace(/\n/g, '; '),
      'data-index': index,
      'data-vector': v.vector,
      'data-allocated': String(v.allocated),
      'data-trigger': v.trigger != null ? String(v.trigger) : ''
    })
  }

  async function renderGrid (id, irqs) {
    const grid = $('#grid')
    const rows = []
    for (const irq of irqs) {
      if (irq.count === 0) continue
      const vectors = (await json('/v1/devices/' + id + '/irqs/' + irq.index + '/vectors')).items
      rows.push(el('div', { class: 'index-row', 'data-index': irq.index },
        el('span', { class: 'label', text: irq.name + (irq.enabled ? ' ●' : '') }),
        el('div', { class: 'cells' }, ...vectors.map((v) => cellFor(irq.index, v)))))
    }
    grid.replaceChildren(...rows)
  }

  function chartSize () {
    return { width: Math.max(300, $('#chart').clientWidth || 600), height: 220 }
  }

  function makeChart (data) {
    const opts = Object.assign(chartSize(), {
      scales: { x: { time: true } },
      axes: [{ stroke: css('--muted'), grid: { stroke: css('--line') } }, { stroke: css('--muted'), grid: { stroke: css('--line') } }],
      series: [
        {},
        { label: 'fired', stroke: css('--fired'), width: 1.5 },
        { label: 'delivered', stroke: css('--delivered'), width: 1.5 },
        { label: 'lost', stroke: css('--lost'), width: 2, fill: 'rgba(198,40,40,0.15)' },
        { label: 'pended', stroke: css('--pended'), width: 1.5 }
      ],
      plugins: [windowBands()],
      hooks: { draw: [() => renderTimeline()] }
    })
    $('#chart').replaceChildren()
    return new uPlot(opts, data, $('#chart'))
  }

  /** Chart data from a /rates answer: seconds on x, the four series. */
  function ratesToData (r) {
    const xs = []
    for (let s = r.start; s <= r.end; s++) xs.push(s)
    return [xs, r.device.fired.slice(), r.device.delivered.slice(), r.device.lost.slice(), r.device.pended.slice()]
  }

  /** Shows the last minute, or further back (up to ten minutes) when the trace or the rates go there. */
  function trimData (data) {
    const xs = data[0]
    if (xs.length === 0) return data
    const now = xs[xs.length - 1]
    let first = now - 59
    const firstActive = xs.findIndex((x, i) => data[1][i] > 0)
    if (firstActive >= 0) first = Math.min(first, xs[firstActive] - 5)
    if (view && view.trace.length > 0) first = Math.min(first, Math.floor(view.trace[0].t / 1000) - 5)
    const from = Math.max(0, xs.findIndex((x) => x >= first))
    return data.map((a) => a.slice(from))
  }

  function updateChartPoints () {
    const data = view.data
    let points = 0
    for (let i = 0; i < data[0].length; i++) if (data[1][i] > 0 || data[3][i] > 0) points++
    $('#chart').dataset.points = String(points)
  }

  /**
   * The calls of the chart's time range on their own, finer scale (windows are often a few
   * milliseconds, far below the chart's one-second buckets): marks for calls, shaded windows.
   */
  function renderTimeline () {
    if (!view || !view.chart) return
    const u = view.chart
    const min = u.scales.x.min; const max = u.scales.x.max
    if (min === undefined || max === undefined) return
    const tl = $('#timeline')
    const calls = view.trace.filter((e) => e.t / 1000 >= min && e.t / 1000 <= max + 1)
    if (calls.length === 0) {
      tl.replaceChildren()
      $('#timeline-from').textContent = ''
      $('#timeline-to').textContent = ''
      return
    }
    const span = Math.max(50, calls[calls.length - 1].t - calls[0].t)
    const from = calls[0].t - span * 0.03
    const to = calls[calls.length - 1].t + span * 0.03
    const x = (ms) => (100 * (ms - from) / (to - from))
    const items = []
    let lastLabel = -Infinity
    const width = tl.clientWidth || 800
    for (const w of view.windows) {
      const a = Date.parse(w.from); const b = Date.parse(w.to)
      if (b < from || a > to) continue
      const left = x(a)
      const showLabel = w.lost > 0 && (left - lastLabel) * width / 100 > 52
      if (showLabel) lastLabel = left
      items.push(el('div', {
        class: 'window',
        'data-lost': w.lost,
        title: w.index + ' down for ' + w.durationMs.toFixed(1) + ' ms: ' + w.lost + ' lost',
        style: 'left:' + left.toFixed(3) + '%;width:' + Math.max(0, x(b) - left).toFixed(3) + '%'
      }, showLabel ? el('span', { text: 'lost ' + w.lost }) : null))
    }
    for (const e of calls) {
      items.push(el('div', { class: 'tick' + (e.errno ? ' error' : ''), style: 'left:' + x(e.t).toFixed(3) + '%', title: '#' + e.seq + ' ' + describe(e) }))
    }
    tl.replaceChildren(...items)
    $('#timeline-from').textContent = clock(from)
    $('#timeline-to').textContent = clock(to) + ' (' + ((to - from) / 1000).toFixed(2) + ' s)'
  }

  const clock = (ms) => new Date(ms).toLocaleTimeString(undefined, { hour12: false }) + '.' + String(Math.floor(ms % 1000)).padStart(3, '0')

  /** uPlot plugin: the teardown windows shaded on the chart itself (at least 2 px wide). */
  function windowBands () {
    return {
      hooks: {
        drawClear: [(u) => {
          if (!view) return
          const ctx = u.ctx
          ctx.save()
          ctx.fillStyle = css('--window')
          for (const w of view.windows) {
            const a = u.valToPos(Date.parse(w.from) / 1000, 'x', true)
            const b = u.valToPos(Date.parse(w.to) / 1000, 'x', true)
            ctx.fillRect(a, u.bbox.top, Math.max(2 * devicePixelRatio, b - a), u.bbox.height)
          }
          ctx.restore()
        }]
      }
    }
  }

  function describe (e) {
    const r = e.request || {}
    if (e.op === 'create') return 'create ' + (r.name || '') + ' (' + (r.abi || 'linux-6.12') + ')'
    if (e.op === 'set-irqs') {
      const data = r.data || {}
      const what = data.type === 'eventfd' ? 'fds [' + data.fds.join(', ') + ']' : data.type === 'bool' ? 'bools' : 'none'
      return 'SET_IRQS ' + r.index + ' ' + r.action + ' start ' + (r.start ?? 0) + ' count ' + (r.count ?? (data.fds || data.values || []).length) + ' ' + what
    }
    if (e.op === 'ioctl-set-irqs') return 'ioctl SET_IRQS flags 0x' + r.flags.toString(16) + ' index ' + r.index + ' start ' + r.start + ' count ' + r.count
    return e.op === 'reset' ? 'reset' : 'ioctl reset'
  }

  function renderTrace () {
    const rows = view.trace.slice(-200).reverse().map((e) => el('tr', { 'data-seq': e.seq },
      el('td', { class: 'num', text: String(e.seq) }),
      el('td', { text: clock(e.t) }),
      el('td', { text: describe(e) }),
      el('td', { class: e.errno ? 'err' : '', text: e.errno ? e.errno + ' (' + e.reason + ')' : String(e.result) }),
      el('td', { text: e.irqTypeBefore === e.irqTypeAfter ? e.irqTypeAfter : e.irqTypeBefore + ' → ' + e.irqTypeAfter }),
      el('td', { class: 'num', text: String(e.lost) + (e.pended ? ' (+' + e.pended + ' pended)' : '') })))
    $('#trace tbody').replaceChildren(...rows)
    $('#windows').replaceChildren(...view.windows.map((w) => el('li', {
      class: 'window-item' + (w.lost > 0 ? ' lost-some' : ''),
      'data-lost': w.lost,
      text: w.index + ' down ' + w.durationMs.toFixed(1) + ' ms (calls #' + w.fromSeq + ' → #' + w.toSeq + '): lost ' + w.lost + (w.pended ? ', pended ' + w.pended : '')
    })))
    if (view.windows.length === 0) $('#windows').replaceChildren(el('li', { class: 'none', text: 'none' }))
  }

  async function loadTrace (id) {
    // Entries carry `at`; keep a numeric copy for placing them.
    view.trace = (await all('/v1/devices/' + id + '/trace')).map((e) => Object.assign(e, { t: Date.parse(e.at) }))
    view.windows = (await json('/v1/devices/' + id + '/trace/windows')).items
  }

  async function openDevice (id) {
    closeDevice()
    selected = id
    for (const tr of document.querySelectorAll('#devices tbody tr')) tr.classList.toggle('selected', tr.dataset.device === id)
    const dev = await json('/v1/devices/' + id)
    view = { id, chart: null, data: null, trace: [], windows: [], stream: null }
    $('#device-pane').hidden = false
    $('#device-pane').dataset.device = id
    $('#device-title').textContent = dev.name
    const caps = [dev.abi, 'enabled ' + dev.irqType, dev.msix ? 'MSI-X ' + dev.msix.tableSize + (dev.msix.dynamic ? ' (dynamic)' : ' (NORESIZE)') : null,
      dev.msi ? 'MSI ' + dev.msi.vectors : null, dev.intx ? 'INTx' : null, dev.pcie ? 'PCIe' : null, dev.driver ? 'driver ' + dev.driver : null,
      dev.template ? 'template ' + dev.template : null, 'version ' + dev.version]
    $('#device-meta').textContent = caps.filter(Boolean).join(' · ')
    const irqs = (await json('/v1/devices/' + id + '/irqs')).items
    await renderGrid(id, irqs)
    await loadTrace(id)
    const rates = await json('/v1/devices/' + id + '/rates?vectors=false')
    view.data = trimData(ratesToData(rates))
    view.chart = makeChart(view.data)
    updateChartPoints()
    renderTrace()
    renderTimeline()
    $('#device-pane').dataset.ready = 'true'
    watch(id)
  }

  function closeDevice () {
    if (view && view.stream) view.stream.abort()
    if (view && view.chart) view.chart.destroy()
    view = null
    $('#device-pane').hidden = true
    delete $('#device-pane').dataset.ready
  }

  /** The device's live events over fetch (so that the bearer token can be sent). */
  async function watch (id) {
    const ctl = new AbortController()
    view.stream = ctl
    const current = view
    let res
    try {
      res = await api('/v1/devices/' + id + '/events', { signal: ctl.signal, headers: { accept: 'text/event-stream' } })
    } catch { return }
    const reader = res.body.getReader()
    const decoder = new TextDecoder()
    let buf = ''
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done || view !== current) break
        buf += decoder.decode(value, { stream: true })
        let i
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i)
          buf = buf.slice(i + 2)
          let event = 'message'; let data = null
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7)
            else if (line.startsWith('data: ')) data = JSON.parse(line.slice(6))
          }
          if (data !== null) onEvent(event, data)
        }
      }
    } catch { /* aborted */ }
  }

  let refreshSoon = null
  function onEvent (event, data) {
    if (!view) return
    if (event === 'rates') {
      const d = view.data
      const last = d[0].length > 0 ? d[0][d[0].length - 1] : data.t - 1
      for (let s = last + 1; s < data.t; s++) { d[0].push(s); for (let k = 1; k < 5; k++) d[k].push(0) }
      const i = d[0].indexOf(data.t)
      const vals = [data.fired, data.delivered, data.lost, data.pended]
      if (i >= 0) for (let k = 1; k < 5; k++) d[k][i] = vals[k - 1]
      else { d[0].push(data.t); for (let k = 1; k < 5; k++) d[k].push(vals[k - 1]) }
      while (d[0].length > 600) for (const a of d) a.shift()
      view.data = trimData(d)
      view.chart.setData(view.data)
      updateChartPoints()
    } else if (event === 'trace') {
      // A configuration call: the trace, the windows and the grid change.
      clearTimeout(refreshSoon)
      refreshSoon = setTimeout(() => refreshDevice(), 200)
    } else if (event === 'closed') {
      location.hash = '#/'
    }
  }

  async function refreshDevice () {
    if (!view) return
    const id = view.id
    const irqs = (await json('/v1/devices/' + id + '/irqs')).items
    if (!view || view.id !== id) return
    await renderGrid(id, irqs)
    await loadTrace(id)
    renderTrace()
    renderTimeline()
  }

  // ---- routing and refresh ----

  async function route () {
    const m = /^#\/devices\/([^/]+)$/.exec(location.hash)
    if (m) await openDevice(decodeURIComponent(m[1]))
    else { closeDevice(); selected = null }
  }

  async function refresh () {
    try {
      await renderPool()
      await renderDevices()
      if (view) {
        const id = view.id
        const irqs = (await json('/v1/devices/' + id + '/irqs')).items
        if (view && view.id === id) await renderGrid(id, irqs)
      }
      document.body.dataset.loaded = 'true'
    } catch (err) {
      console.error(err)
    }
  }

  window.addEventListener('hashchange', route)
  // Light or dark follows the system; the chart's colours are redrawn when it changes.
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    if (view && view.chart) { view.chart.destroy(); view.chart = makeChart(view.data) }
    renderDevices().catch(() => {})
  })
  window.addEventListener('resize', () => { if (view && view.chart) view.chart.setSize(chartSize()) })
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && location.hash !== '#/' && !$('#login').open) location.hash = '#/'
  })
  refresh().then(route)
  setInterval(refresh, 2000)
})()
