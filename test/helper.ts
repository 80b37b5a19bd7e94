// The one test helper: import everything from here. Split by subject in test/helpers/:
//   app.ts        build(t, opts), listen, tempDir, until, sleep, the Tap type
//   http.ts       send, ok (2xx), problem (a status and problem+json), getJson, listAll, snapshot
//   devices.ts    createDevice, createEventfd, setIrqs / sendSetIrqs (by index name),
//                 ioctlSetIrqs / ioctlSetIrqsResult (raw), fire / fireOk, vectors, irq,
//                 read/peek eventfds, the ABI list
//   internals.ts  the only way into the app's engine (deviceModel, storeDb, flushCounters, ...)
export * from './helpers/app.ts'
export * from './helpers/http.ts'
export * from './helpers/devices.ts'
export * from './helpers/internals.ts'
