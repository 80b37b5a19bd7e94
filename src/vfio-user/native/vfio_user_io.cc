// The few socket calls Node's `net` cannot make: a UNIX socket whose messages carry file
// descriptors (SCM_RIGHTS). vfio-user passes eventfds that way. Plain N-API (node_api.h), no
// dependency; readiness comes from a libuv poll on the same loop as everything else, so
// nothing here blocks and no thread is started.
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_FDS 32

static napi_value throw_errno(napi_env env, const char* what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, text, error, errnum;
  napi_create_string_utf8(env, "ESYSCALL", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &error);
  napi_create_int32(env, err, &errnum);
  napi_set_named_property(env, error, "errno", errnum);
  napi_throw(env, error);
  return nullptr;
}

static bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  size_t argc = want;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < want) {
    napi_throw_type_error(env, nullptr, "missing arguments");
    return false;
  }
  return true;
}

static napi_value int_value(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

// listen(path) -> fd: a non-blocking, close-on-exec listening socket (backlog 1: one client).
static napi_value Listen(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return nullptr;
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[0], addr.sun_path, sizeof addr.sun_path, &len) != napi_ok) return nullptr;
  if (len >= sizeof addr.sun_path - 1) return throw_errno(env, "socket path too long", ENAMETOOLONG);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) < 0 || listen(fd, 1) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind/listen", err);
  }
  return int_value(env, fd);
}

// accept(fd) -> fd, or -1 when no client is waiting. The connection is blocking for sends
// (replies are small and the client waits for them; SO_SNDTIMEO bounds a client that does not
// read) and is read with MSG_DONTWAIT only.
static napi_value Accept(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return nullptr;
  int32_t lfd;
  napi_get_value_int32(env, argv[0], &lfd);
  int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return int_value(env, -1);
    return throw_errno(env, "accept", errno);
  }
  struct timeval tv = { 2, 0 };
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return int_value(env, fd);
}

// recv(fd, buffer, offset, length) -> [n, ...fds]: n bytes read into buffer[offset..], -1 when
// nothing is there (EAGAIN), 0 at end of stream; the fds that came with these bytes (SCM_RIGHTS).
// The caller reads at most up to the end of the message it is assembling, so fds stay tied to
// the message they were sent with. A truncated control message closes what did arrive and
// reports n = -2.
static napi_value Recv(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return nullptr;
  int32_t fd;
  uint32_t offset, length;
  void* data;
  size_t size;
  napi_get_value_int32(env, argv[0], &fd);
  if (napi_get_buffer_info(env, argv[1], &data, &size) != napi_ok) return nullptr;
  napi_get_value_uint32(env, argv[2], &offset);
  napi_get_value_uint32(env, argv[3], &length);
  if ((size_t)offset + length > size) {
    napi_throw_range_error(env, nullptr, "offset + length beyond the buffer");
    return nullptr;
  }
  struct iovec iov = { (char*)data + offset, length };
  union { char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)]; struct cmsghdr align; } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  ssize_t n;
  do n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) n = -1;
    else if (errno == ECONNRESET) n = 0;
    else return throw_errno(env, "recvmsg", errno);
  }
  int fds[MAX_FDS];
  uint32_t nfds = 0;
  // A failed or empty read leaves the control buffer as it was (uninitialised): no fds then.
  if (n <= 0) msg.msg_controllen = 0;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count && nfds < MAX_FDS; i++) memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
  }
  if ((msg.msg_flags & MSG_CTRUNC) != 0) {
    for (uint32_t i = 0; i < nfds; i++) close(fds[i]);
    nfds = 0;
    n = -2;
  }
  napi_value out;
  napi_create_array_with_length(env, 1 + nfds, &out);
  napi_set_element(env, out, 0, int_value(env, n));
  for (uint32_t i = 0; i < nfds; i++) napi_set_element(env, out, i + 1, int_value(env, fds[i]));
  return out;
}

// send(fd, buffer, length) -> bytes sent (all of them, or an error is thrown).
static napi_value Send(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return nullptr;
  int32_t fd;
  uint32_t length;
  void* data;
  size_t size;
  napi_get_value_int32(env, argv[0], &fd);
  if (napi_get_buffer_info(env, argv[1], &data, &size) != napi_ok) return nullptr;
  napi_get_value_uint32(env, argv[2], &length);
  if (length > size) length = size;
  size_t done = 0;
  while (done < length) {
    ssize_t n = send(fd, (char*)data + done, length - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return throw_errno(env, "send", errno);
    }
    done += (size_t)n;
  }
  return int_value(env, (int64_t)done);
}

// close(fd) -> 0 or -errno.
static napi_value Close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return nullptr;
  int32_t fd;
  napi_get_value_int32(env, argv[0], &fd);
  return int_value(env, close(fd) < 0 ? -errno : 0);
}

// signal(fd, n) -> 0 or -errno: write(2) of the 8-byte value n, what eventfd_signal() does to
// an eventfd from userspace. No allocation: the interrupt path calls it.
static napi_value Signal(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t fd;
  int64_t n = 1;
  napi_get_value_int32(env, argv[0], &fd);
  if (argc > 1) napi_get_value_int64(env, argv[1], &n);
  uint64_t value = (uint64_t)n;
  ssize_t r;
  do r = write(fd, &value, sizeof value);
  while (r < 0 && errno == EINTR);
  return int_value(env, r < 0 ? -errno : 0);
}

// poll(fd, callback) -> handle: callback(status, readable, disconnected) whenever the fd is
// readable or hung up. stopPoll(handle) ends it.
struct Poll {
  uv_poll_t handle;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  bool stopped;
};

static void on_closed(uv_handle_t* h) {
  Poll* p = (Poll*)h->data;
  free(p);
}

static void on_poll(uv_poll_t* h, int status, int events) {
  Poll* p = (Poll*)h->data;
  if (p->stopped) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, recv, argv[3], result;
  napi_get_reference_value(env, p->callback, &cb);
  napi_get_global(env, &recv); // napi_make_callback wants an object as `this`
  napi_create_int32(env, status, &argv[0]);
  napi_get_boolean(env, (events & UV_READABLE) != 0, &argv[1]);
  napi_get_boolean(env, (events & UV_DISCONNECT) != 0, &argv[2]);
  napi_make_callback(env, p->context, recv, cb, 3, argv, &result);
  napi_close_handle_scope(env, scope);
}

static napi_value StartPoll(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return nullptr;
  int32_t fd;
  napi_get_value_int32(env, argv[0], &fd);
  uv_loop_t* loop;
  napi_get_uv_event_loop(env, &loop);
  Poll* p = (Poll*)calloc(1, sizeof(Poll));
  p->env = env;
  napi_create_reference(env, argv[1], 1, &p->callback);
  napi_value name;
  napi_create_string_utf8(env, "vfio-user-poll", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, nullptr, name, &p->context);
  int r = uv_poll_init(loop, &p->handle, fd);
  if (r == 0) {
    p->handle.data = p;
    r = uv_poll_start(&p->handle, UV_READABLE | UV_DISCONNECT, on_poll);
  }
  if (r != 0) {
    napi_delete_reference(env, p->callback);
    napi_async_destroy(env, p->context);
    free(p);
    return throw_errno(env, "uv_poll", -r);
  }
  napi_value handle;
  napi_create_external(env, p, nullptr, nullptr, &handle);
  return handle;
}

static napi_value StopPoll(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return nullptr;
  Poll* p;
  if (napi_get_value_external(env, argv[0], (void**)&p) != napi_ok || p == nullptr || p->stopped) return nullptr;
  p->stopped = true;
  uv_poll_stop(&p->handle);
  napi_delete_reference(env, p->callback);
  napi_async_destroy(env, p->context);
  uv_close((uv_handle_t*)&p->handle, on_closed);
  return nullptr;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "listen", nullptr, Listen, nullptr, nullptr, nullptr, napi_enumerable, nullptr },
    { "accept", nullptr, Accept, nullptr, nullptr, nullptr, napi_enumerable, nullptr },
    { "recv", nullptr, Recv, nullptr, nullptr, nullptr, napi_enumerable, nullptr },
    { "send", nullptr, Send, nullptr, nullptr, nullptr, napi_enumerable, nullptr },
    { "close", nullptr, Close, nullptr, nullptr, nullptr, napi_enumerable, nullptr },
    { "signal", nullptr, Signal, nullptr, nullptr, nullptr, napi_enumerable, nullptr },
    { "poll", nullptr, StartPoll, nullptr, nullptr, nullptr, napi_enumerable, nullptr },
    { "stopPoll", nullptr, StopPoll, nullptr, nullptr, nullptr, napi_enumerable, nullptr },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
