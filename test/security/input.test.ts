// Input the schemas cannot judge alone: integers in the URL are canonical decimal, bodies are
// UTF-8, strings are Unicode. Each is refused with problem+json and changes nothing.
import t from 'tap'
import { build, createDevice, createEventfd } from '../helper.ts'

t.test('path and query integers: canonical decimal only (400), table-driven', async (t) => {
  const app = await build(t)
  const fd = await createEventfd(app)
  const id = await createDevice(app, { msix: { tableSize: 8 } })
  for (const bad of ['0x1', '1e0', '+1', '01', '1.0', '-0', ' 1', '1 ', '0b1', '1_0', 'Infinity', '١']) {
    const text = encodeURIComponent(bad)
    for (const url of [`/v1/eventfds/${text}`, `/v1/eventfds?limit=${text}`, `/v1/eventfds/${fd}/read?timeoutMs=${text}`, `/v1/devices/${id}/irqs/${text}`]) {
      const res = await app.inject({ method: url.includes('/read') ? 'POST' : 'GET', url })
      t.equal(res.statusCode, 400, `${url} (${JSON.stringify(bad)})`)
      t.match(res.headers['content-type'], /application\/problem\+json/)
    }
  }
  // The canonical forms still work.
  t.equal((await app.inject({ method: 'GET', url: `/v1/eventfds/${fd}` })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/v1/eventfds?limit=1' })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: `/v1/eventfds/${fd}/read?timeoutMs=0` })).statusCode, 204)
  t.equal((await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/2` })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: `/v1/devices/${id}/irqs/0` })).statusCode, 200)
})

t.test('request bodies: a charset other than UTF-8 is 415 problem+json, table-driven', async (t) => {
  const app = await build(t)
  for (const [contentType, status] of [
    ['application/json; charset=utf-16', 415],
    ['application/json; charset=UTF-16LE', 415],
    ['application/json; charset=iso-8859-1', 415],
    ['application/json;charset="latin1"', 415],
    ['application/json; charset=utf-8', 201],
    ['application/json; charset=UTF-8', 201],
    ['application/json; charset="utf-8"', 201],
    ['application/json', 201]
  ] as const) {
    const res = await app.inject({ method: 'POST', url: '/v1/devices', headers: { 'content-type': contentType }, payload: '{"name":"n"}' })
    t.equal(res.statusCode, status, contentType)
    if (status === 415) t.match(res.json(), { status: 415, reason: 'unsupported-charset' })
  }
  t.equal((await app.inject({ method: 'GET', url: '/v1/devices' })).json().items.length, 4, 'only the UTF-8 bodies created devices')
})

t.test('strings that are not Unicode (lone UTF-16 surrogates) and bytes that are not UTF-8 are 400', async (t) => {
  const app = await build(t)
  for (const [name, payload, reason] of [
    ['a lone high surrogate in a device name', '{"name":"\\ud800"}', 'invalid-unicode'],
    ['a lone low surrogate in a device name', '{"name":"a\\udc00b"}', 'invalid-unicode'],
    ['a reversed pair', '{"name":"\\udc00\\ud800"}', 'invalid-unicode'],
    ['a lone surrogate in a key', '{"\\ud800":1}', 'invalid-unicode'],
    ['invalid UTF-8 bytes', Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), 'invalid-utf8'],
    ['a truncated UTF-8 sequence', Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xe2, 0x82]), Buffer.from('"}')]), 'invalid-utf8']
  ] as const) {
    const res = await app.inject({ method: 'POST', url: '/v1/devices', headers: { 'content-type': 'application/json' }, payload })
    t.equal(res.statusCode, 400, name)
    t.match(res.headers['content-type'], /application\/problem\+json/, name)
    t.equal(res.json().reason, reason, name)
  }
  t.same((await app.inject({ method: 'GET', url: '/v1/devices' })).json().items, [], 'nothing was created')
  // A well-formed pair (an astral character) is Unicode and is kept as sent.
  const ok = await app.inject({ method: 'POST', url: '/v1/devices', headers: { 'content-type': 'application/json' }, payload: '{"name":"\\ud83d\\ude00"}' })
  t.equal(ok.statusCode, 201)
  t.equal(ok.json().name, '😀')
})
