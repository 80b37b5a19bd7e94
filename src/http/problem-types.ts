/**
 * Every problem `reason` the service answers with, and every reason an interrupt is lost:
 * what it means and what to do. A problem's `type` is `/problems/{reason}`, and that URI
 * answers this text (routes/problems.ts); docs/problems.md is generated from it
 * (`npm run docs:problems`). test/http/problem-types.test.ts fails when the code gains a
 * reason this catalogue does not explain.
 */

export interface ProblemType {
  /** The HTTP status it comes with. */
  status: number
  /** The Linux errno, for rules of the interrupt model. */
  errno?: string
  /** What happened, and what to do about it. */
  text: string
  /** The section of docs/model.md the rule is in, for model rules. */
  model?: string
}

const model = (errno: string, section: string, text: string, status = 400): ProblemType => ({ status, errno, text, model: section })
const http = (status: number, text: string): ProblemType => ({ status, text })

export const PROBLEM_TYPES: Record<string, ProblemType> = {
  // The interrupt model (docs/model.md): the kernel's errno, with the rule that chose it.
  'argsz-too-small': model('EINVAL', '3, 4', 'The raw struct\'s argsz is smaller than the struct the ioctl reads (vfio_device_info, vfio_irq_info or the vfio_irq_set header). Send the struct\'s full size.'),
  'index-out-of-range': model('EINVAL', '3, 4', 'The IRQ index is not below VFIO_PCI_NUM_IRQS (5). Use intx (0), msi (1), msix (2), err (3) or req (4).'),
  'not-pcie': model('EINVAL', '3', 'The ERR index exists only on PCI Express devices: create the device with "pcie": true to use it.'),
  'no-device-info': model('EINVAL', '12', 'The mtty sample answers GET_IRQ_INFO with EINVAL for an index it does not know, before anything else.'),
  'index-unsupported': model('EINVAL', '12', 'This device\'s driver does not answer GET_IRQ_INFO for that index (mtty: INTx and MSI only; kvmgt: INTx and MSI only).'),
  'no-handler': model('ENOTTY', '4, 12', 'There is no handler for this (index, action) pair: the dispatch table has no entry, as in vfio_pci_set_irqs_ioctl(). For example MASK on MSI without per-vector masking, or any action on an index the driver lacks.'),
  'count-zero-eventfd': model('EINVAL', '12', 'An mdev driver\'s EVENTFD trigger with count 0 copies no fd; the sample driver would dereference NULL, so it is refused.'),
  'intx-range': model('EINVAL', '5.1, 5.2', 'INTx takes start 0 and count 1 (count 0 only to disable with DATA_NONE).'),
  'intx-not-enabled': model('EINVAL', '5.1, 5.2', 'INTx is not enabled: enable it with an eventfd TRIGGER before masking, unmasking or looping back.'),
  'intx-already-disabled': model('EINVAL', '12', 'INTx was disabled already; mtty answers a second disable with EINVAL (6.7 and later).'),
  'mask-eventfd-unsupported': model('ENOTTY', '5.1, 11.4', 'MASK with an eventfd has no handler: masking is a plain action (DATA_NONE or DATA_BOOL).'),
  'unmask-eventfd-unsupported': model('ENOTTY', '11.4', 'MSI-X vectors cannot be unmasked by an eventfd (only INTx has an unmask eventfd).'),
  'unmask-eventfd-busy': model('EBUSY', '5.1', 'INTx already has an unmask eventfd; remove it with fd -1 before setting another.', 409),
  'msi-range': model('EINVAL', '12', 'mtty enables MSI with start 0 and count 1, while INTx is off.'),
  'msi-already-disabled': model('EINVAL', '12', 'MSI was disabled already; mtty answers a second disable with EINVAL (6.7 and later).'),
  'index-not-enabled': model('EINVAL', '5.3, 11.4', 'The index is not enabled: enable it (TRIGGER with eventfds) before signalling, masking or looping back.'),
  'irq-type-conflict': model('EINVAL', '5.2, 5.3', 'Another interrupt type is enabled: INTx, MSI and MSI-X exclude each other. Disable the enabled one first (TRIGGER, DATA_NONE, count 0).'),
  'beyond-enabled-vectors': model('EINVAL', '5.3, 5.4', 'Under linux-6.1 (NORESIZE), every block after enable must stay within the vector count of the enable call. Disable and enable again with a larger count, as QEMU did before 8.2.'),
  'vector-not-allocated': model('EINVAL', '5.4', 'The vector has no host vector and this index cannot grow (MSI, or MSI-X without dynamic allocation).'),
  'no-vectors': model('ERANGE', '5.3', 'Enabling MSI or MSI-X needs at least one vector: start + count is 0.'),
  'host-vectors-exhausted': model('ENOSPC', '6', 'The host vector pool has no free vector. Free vectors (disable other devices\' MSI or MSI-X) or start virq with a larger --host-vectors.', 507),
  'tenant-host-vectors-exhausted': model('ENOSPC', '6', 'This tenant has used its quota of host vectors. Free some, or ask the admin for a larger quota.', 507),
  'count-overflow': model('EINVAL', '4', 'start + count overflows 32 bits (vfio_set_irqs_validate_and_prepare()).'),
  'unknown-flags': model('EINVAL', '4', 'flags has bits outside the DATA and ACTION masks (0x3f).'),
  'range-out-of-bounds': model('EINVAL', '4', '[start, start + count) is not inside the index\'s interrupts, as GET_IRQ_INFO reports their count.'),
  'data-type': model('EINVAL', '4', 'flags must name exactly one data type (NONE, BOOL or EVENTFD). (An action the index has no handler for is ENOTTY no-handler.)'),
  'data-too-short': model('EINVAL', '4', 'argsz is too small to hold count data elements after the header.'),
  'data-missing': model('EFAULT', '4', 'count says more data elements than were sent: the kernel\'s copy from user memory would fault.'),
  'single-slot-range': model('EINVAL', '5.5', 'ERR and REQ take start 0 and count 0 or 1.'),
  'no-trigger': model('EINVAL', '5.5', 'ERR or REQ has no trigger to signal or release.'),
  'count-zero': model('EINVAL', '5.5', 'ERR or REQ with BOOL or EVENTFD data needs count 1 (NONE with count 0 releases the trigger).'),
  'negative-fd': model('EINVAL', '5.5', 'An fd is neither an eventfd nor -1.'),
  'bad-fd': model('EBADF', '8', 'The fd is not an open eventfd of this tenant.'),
  'eventfd-overflow': model('EAGAIN', '8', 'Adding the value would overflow the eventfd\'s counter: read it first.', 409),
  'eventfd-bound': model('EBUSY', '8', 'The eventfd is bound to interrupts; de-assign it (fd -1) first, or close it with force=true.', 409),
  'reset-unsupported': model('EINVAL', '9', 'The device does not support VFIO_DEVICE_RESET (create it with "reset": true).'),

  // IMS-backed MSI-X (docs/model.md 13).
  'ims-slots-exhausted': model('EBUSY', '13', 'The parent\'s IMS store has no free slot (msi_insert_desc() finds its index space full): that vector is left as it was, and the rest of the block is rolled back (5.4). Free a slot (fd -1 on another vector, disable or delete a device of this parent) and retry.', 409),
  'parent-has-devices': model('EBUSY', '13', 'The parent still has virtual devices: delete them before the parent.', 409),
  'unknown-parent': http(400, 'No parent of yours has this id: create one with POST /v1/parents.'),
  'parent-not-found': http(404, 'No parent of yours has this id.'),
  'parent-required': http(400, 'This template is a virtual device of an IMS parent (idxd-vdev): give "parent".'),
  'parent-needs-vfio-pci': http(400, 'Only vfio-pci devices can be IMS-backed: the mdev drivers have no MSI-X.'),
  'parent-needs-msix': http(400, 'An IMS-backed device needs an MSI-X table (msix.tableSize).'),
  'ims-always-dynamic': http(400, 'IMS-backed MSI-X is always dynamic: leave out msix.dynamic or set it to true.'),
  'emulated-needs-parent': http(400, 'msix.emulated names vectors of an IMS-backed device: give "parent" too.'),
  'emulated-duplicate': http(400, 'msix.emulated names a vector twice.'),
  'emulated-out-of-range': http(400, 'An emulated vector is not below the MSI-X table size.'),

  // vfio-user (docs/model.md 14).
  'already-serving': http(409, 'The device is already served over vfio-user: DELETE .../vfio-user first, or attach to the socket it gives.'),
  'not-serving': http(404, 'The device is not served over vfio-user: POST .../vfio-user starts it.'),
  'vfio-user-unavailable': http(503, 'vfio-user needs virq\'s native addon (built by npm ci with node-gyp), which could not be loaded; HTTP works without it. Rebuild with npm rebuild.'),
  'external-eventfd': http(409, 'The eventfd belongs to a vfio-user client: its counter lives in the client\'s kernel, so virq cannot read, write or close it; it closes with the connection.'),

  // Device creation.
  'template-driver-mismatch': http(400, 'The template is a device of another driver than the one asked for: leave out "driver", or pick a template of that driver.'),
  'template-fixed-field': http(400, 'This template\'s capabilities are fixed (its driver\'s answers): leave out the capability fields given beside it.'),
  'dynamic-msix-needs-linux-6.5': http(400, 'Dynamic MSI-X came with Linux 6.5: under an older abi leave out msix.dynamic or set it to false.'),

  // Firing interrupts (POST .../fire and the WebSocket's fire).
  'no-such-index': http(400, 'The device has no interrupt of that index (no MSI, no MSI-X, not PCI Express for ERR...).'),
  'ambiguous-vectors': http(400, 'Give either "vectors", or "vector" with "count", not both.'),
  'vector-required': http(400, 'Give "vectors", or "vector" with "count".'),
  'vector-out-of-range': http(400, 'The vector is not below the index\'s vector count (INTx, ERR and REQ have only vector 0).'),
  'count-not-for-intx': http(400, 'INTx is a level, not an edge: fire it with "level": "assert", "deassert" or "pulse".'),
  'level-only-for-intx': http(400, '"level" applies to INTx only.'),
  'vectors-only-for-msi': http(400, '"vectors" (a list) applies to MSI and MSI-X; INTx, ERR and REQ have one vector, fired without one or as vector 0.'),
  'no-pending-bits': http(400, 'Only MSI-X, and MSI with per-vector masking, have pending bits.'),
  'no-pending-bit-array': http(404, 'The device has no such index, so no pending bit array.'),

  // Requests the HTTP layer refuses before the model sees them; nothing is changed.
  'invalid-request': http(400, 'The request does not match its schema; the detail names the field, what it allows and what came.'),
  'invalid-index': http(400, 'The IRQ index is not intx, msi, msix, err, req or a number 0-4.'),
  'invalid-data-element': http(400, 'A raw SET_IRQS data element is out of range for its type: a BOOL is a byte, 0-255 (any non-zero is true, as the kernel reads it); an eventfd is an s32 fd.'),
  'invalid-cursor': http(400, 'The page cursor is not one this service issued: start again without it.'),
  'count-required': http(400, 'SET_IRQS with data type none needs an explicit count (there are no data elements to count).'),
  'malformed-json': http(400, 'The body is not JSON.'),
  'invalid-utf8': http(400, 'The body is not valid UTF-8.'),
  'invalid-unicode': http(400, 'A string holds a lone UTF-16 surrogate, which is not Unicode text.'),
  'unsupported-charset': http(415, 'Send JSON in UTF-8 (charset=utf-8 or none).'),
  'unsupported-media-type': http(415, 'Send the body as application/json.'),
  'body-too-large': http(413, 'The body is larger than the limit (--body-limit).'),
  'bad-url': http(400, 'The URL has a malformed percent-escape.'),
  'bad-request': http(400, 'The request was refused before reaching a route.'),
  'bad-request-line': http(400, 'The request is not valid HTTP/1.1.'),
  'request-timeout': http(408, 'The request was not sent in time.'),
  'headers-too-large': http(431, 'The request headers are larger than the limit.'),
  'route-not-found': http(404, 'No route has this method and path: see /docs for the API.'),
  'upgrade-required': http(426, 'This route is a WebSocket: send an Upgrade request.'),
  'invalid-if-match': http(400, 'If-Match takes entity tags in double quotes, exactly as the ETag header gives them: If-Match: "17", not If-Match: 17.'),
  'version-mismatch': http(412, 'If-Match does not match the device\'s version (its ETag): someone changed it since you read it. Read it again.'),
  'device-not-found': http(404, 'No device of yours has this id.'),
  'eventfd-not-found': http(404, 'No eventfd of yours has this number.'),
  'token-not-found': http(404, 'No token has this id.'),
  'invalid-message': http(400, 'A WebSocket message does not match the stream format; the detail says what is allowed. The connection stays open.'),

  // Tenancy, limits and service state.
  unauthorized: http(401, 'Send a bearer token: Authorization: Bearer <token>.'),
  'token-revoked': http(401, 'The token was revoked; its streams were ended.'),
  'admin-token-required': http(403, 'This route is for the admin token.'),
  'tenant-token-required': http(403, 'This route is for a tenant\'s token, not the admin\'s.'),
  'auth-disabled': http(404, 'Tokens need the service started with an admin token (VIRQ_ADMIN_TOKEN or --admin-token).'),
  'tenant-stream-limit': http(429, 'This tenant has as many open streams as it may.'),
  'tenant-device-limit': http(429, 'This tenant has as many devices as the admin allowed it.'),
  'tenant-eventfd-limit': http(429, 'This tenant has as many eventfds as the admin allowed it.'),
  'tenant-table-entry-limit': http(429, 'This tenant has as many interrupt table entries (MSI and MSI-X vectors of its devices) as the admin allowed it.'),
  'instance-device-limit': http(429, 'The instance has as many devices as --max-devices allows.'),
  'instance-eventfd-limit': http(429, 'The instance has as many eventfds as --max-eventfds allows.'),
  'instance-table-entry-limit': http(429, 'The instance has as many interrupt table entries as --max-table-entries allows.'),
  'eventfd-deleted': http(410, 'The eventfd was deleted while a stream read it; the stream ends.'),
  'device-deleted': http(410, 'The device was deleted while the stream watched it; the stream ends.'),
  overloaded: http(503, 'The event loop is overloaded; retry after the Retry-After delay.'),
  'not-ready': http(503, 'The service is not ready (starting, stopping, or its storage failing).'),
  'storage-unavailable': http(503, 'The database cannot be written; nothing was changed. Retry after the Retry-After delay.'),
  'storage-full': http(507, 'The database has no room to grow; nothing was changed. Retry once space is freed.'),
  internal: http(500, 'An internal error; it has been logged with the request id. Please report it.')
}

/** Why a fired interrupt reached no eventfd (docs/model.md 7): the `lostBy` keys of counters. */
export const LOSS_REASONS: Record<string, string> = {
  'index-disabled': 'The index was not enabled when the device fired: nobody could receive it (under linux-6.1, the window while QEMU disables and re-enables MSI-X to grow it).',
  'not-allocated': 'The vector had no host vector (beyond what the driver allocated).',
  'no-trigger': 'The vector had a host vector but no eventfd, and no mask bit to hold it pending (MSI without per-vector masking, INTx without a trigger).'
}
