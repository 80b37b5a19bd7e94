// The bounds of the API's requests that are virq's own choice (the kernel's, such as the MSI-X
// table size, are in core/constants.ts), named once: the route schemas enforce them and the CLI
// checks its arguments against them before sending. A leaf, so that the CLI can import it
// without the schemas and what they import.

/** The largest `count` one fire request may fire on one vector. */
export const MAX_FIRE_COUNT = 1_000_000_000
/** The longest a long-poll read may wait, in ms; longer waits belong on a stream. */
export const MAX_READ_WAIT_MS = 60_000
