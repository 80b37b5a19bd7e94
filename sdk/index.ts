// The virq TypeScript SDK: openapi-fetch over types generated from openapi/openapi.json by
// openapi-typescript (npm run sdk regenerates sdk/schema.ts; a test keeps it current).
import createClient, { type Client, type ClientOptions } from 'openapi-fetch'
import type { components, paths } from './schema.ts'

export type { components, paths }
export type VirqClient = Client<paths>
export type Problem = components['schemas']['Problem']
export type Device = components['schemas']['Device']
export type IrqIndex = components['schemas']['IrqIndex']
export type Eventfd = components['schemas']['Eventfd']
export type IrqSetRequest = components['schemas']['IrqSetRequest']
export type IrqSetResult = components['schemas']['IrqSetResult']
export type VectorState = components['schemas']['VectorState']
export type FireRequest = components['schemas']['FireRequest']
export type FireResult = components['schemas']['FireResult']

/** A client for a virq server, e.g. createVirqClient({ baseUrl: 'http://127.0.0.1:8080' }). */
export function createVirqClient (options: ClientOptions & { baseUrl: string }): VirqClient {
  return createClient<paths>(options)
}

/** VFIO_IRQ_SET_* flag bits, for the raw ioctl route. */
export const IRQ_SET = {
  DATA_NONE: 0x01,
  DATA_BOOL: 0x02,
  DATA_EVENTFD: 0x04,
  ACTION_MASK: 0x08,
  ACTION_UNMASK: 0x10,
  ACTION_TRIGGER: 0x20
} as const
