// How the examples talk to virq: JSON in and out over fetch, with a bearer token when one is
// given (--token or VIRQ_TOKEN, for a server with authentication on).

/** One call; any status comes back with its body (null for 204). */
export async function request (base: string, token: string | undefined, method: string, path: string, body?: unknown): Promise<{ status: number, body: any }> {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token !== undefined ? { authorization: `Bearer ${token}` } : {})
    },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  return { status: res.status, body: res.status === 204 ? null : await res.json() }
}

/** One call that must succeed: its body, or an error naming the call and the problem. */
export async function must (base: string, token: string | undefined, method: string, path: string, body?: unknown): Promise<any> {
  const res = await request(base, token, method, path, body)
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body
}
