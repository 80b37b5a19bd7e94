// The only place tests reach past the HTTP API into the app's engine: checks that the API cannot
// show (what is batched, who waits, which structure a request walks) and faults it cannot cause
// (a full disk). When the engine's internals move, only this file changes.
import type { App } from '../../src/app.ts'

type Engine = App['engine']
type World = Engine['world']

/** The model's world: devices and eventfds as the core holds them. */
export const modelWorld = (app: App): World => app.engine.world

/** The model's device table itself (tests that watch how it is walked). */
export const deviceTable = (app: App): World['devices'] => app.engine.world.devices

/** The model's device object, or undefined. */
export const deviceModel = (app: App, id: string) => app.engine.world.devices.get(id)

/** The model's eventfd `fd` as tenant `owner` sees it, or undefined. */
export const eventfdModel = (app: App, fd: number, owner = 'default') => app.engine.world.eventfds.get(fd, owner)

/** Runs `fn` on the model as one operation, committed like a request's (what the routes call). */
export const applyToModel: (app: App, ...args: Parameters<Engine['apply']>) => ReturnType<Engine['apply']> = (app, ...args) => app.engine.apply(...args)

/** The SQLite handle the store writes through. */
export const storeDb = (app: App): Engine['db'] => app.engine.db

/** Writes the interrupt path's batched counters and eventfd values now. */
export const flushCounters = (app: App): void => { app.engine.flush() }

/** The last flush's error, or null. */
export const flushError = (app: App): Engine['flushError'] => app.engine.flushError

/** Whether the interrupt path's batch holds nothing that is not yet written. */
export const countersFlushed = (app: App): boolean => app.engine.hot.empty

/** How many stream readers (SSE, WebSocket, CLI watch) are registered. */
export const openReaders = (app: App): number => app.engine.readers.size

/** How many blocking eventfd reads are waiting. */
export const waitingReads = (app: App): number => app.engine.waiting
