"""A vfio-user test client for the edge cases QEMU does not send (test/vfio-user/protocol.test.ts).

Usage: client.py SOCKET BASE_URL DEVICE_ID CASE. Prints one JSON object: what it observed.
Eventfds are real (os.eventfd) and passed with socket.send_fds, as QEMU passes them.
"""
import json, os, socket, struct, sys, urllib.request

SOCK, BASE, DEV, CASE = sys.argv[1:5]
HDR = struct.Struct("<HHIII")
next_id = [1]


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(SOCK)
    s.settimeout(3)
    return s


def send(s, cmd, body=b"", fds=(), flags=0):
    mid = next_id[0]
    next_id[0] += 1
    msg = HDR.pack(mid, cmd, HDR.size + len(body), flags, 0) + body
    if fds:
        socket.send_fds(s, [msg], list(fds))
    else:
        s.sendall(msg)
    return mid


def recv(s):
    hdr = b""
    while len(hdr) < HDR.size:
        chunk = s.recv(HDR.size - len(hdr))
        if not chunk:
            return None
        hdr += chunk
    mid, cmd, size, flags, err = HDR.unpack(hdr)
    body = b""
    while len(body) < size - HDR.size:
        body += s.recv(size - HDR.size - len(body))
    return {"id": mid, "cmd": cmd, "size": size, "flags": flags, "error": err, "body": body}


def call(s, cmd, body=b"", fds=(), flags=0):
    mid = send(s, cmd, body, fds, flags)
    r = recv(s)
    assert r is not None and r["id"] == mid, (r, mid)
    return r


def version(s, caps=None):
    caps = json.dumps(caps if caps is not None else {"capabilities": {"max_msg_fds": 16}}).encode() + b"\0"
    return call(s, 1, struct.pack("<HH", 0, 0) + caps)


def http(method, path, body=None):
    req = urllib.request.Request(BASE + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"content-type": "application/json"} if body is not None else {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def closed_by_peer(r_end):
    """The write end of a pipe we sent has been closed by virq: our read end sees EOF."""
    os.set_blocking(r_end, False)
    try:
        return os.read(r_end, 1) == b""
    except BlockingIOError:
        return False


def set_irqs(s, flags, index, start, count, fds=()):
    return call(s, 8, struct.pack("<IIIII", 20, flags, index, start, count), fds)


out = {}
s = connect()
if CASE == "before-version":
    r = call(s, 4, struct.pack("<IIII", 16, 0, 0, 0))
    out = {"flags": r["flags"], "error": r["error"]}
elif CASE == "version":
    req_caps = {"capabilities": {"max_msg_fds": 16, "max_data_xfer_size": 1048576, "write_multiple": True}}
    req = struct.pack("<HH", 0, 0) + json.dumps(req_caps).encode() + b"\0"
    r = call(s, 1, req)
    major, minor = struct.unpack("<HH", r["body"][:4])
    text = r["body"][4:]
    out = {"major": major, "minor": minor, "nulTerminated": text.endswith(b"\0"), "caps": json.loads(text[:-1]),
           "replySize": r["size"], "requestSize": HDR.size + len(req)}
elif CASE == "version-small":
    r = version(s, {})
    out = {"replySize": r["size"], "requestSize": HDR.size + 4 + 3, "flags": r["flags"], "body": r["body"][4:].decode()}
elif CASE == "version-major":
    r = call(s, 1, struct.pack("<HH", 1, 0) + b"{}\0")
    out = {"flags": r["flags"], "error": r["error"]}
elif CASE == "dma":
    version(s)
    rd, wr = os.pipe()
    r = call(s, 2, struct.pack("<IIQQQ", 32, 3, 0, 0, 4096), [wr])
    os.close(wr)
    u = call(s, 3, struct.pack("<IIQQ", 24, 0, 0, 4096))
    out = {"mapFlags": r["flags"], "fdClosed": closed_by_peer(rd), "unmapFlags": u["flags"], "unmapEcho": len(u["body"])}
elif CASE == "info":
    version(s)
    r = call(s, 4, struct.pack("<IIII", 16, 0, 0, 0))
    regions = []
    for i in range(10):
        g = call(s, 5, struct.pack("<IIIIQQ", 32, 0, i, 0, 0, 0))
        if g["flags"] & 0x20:
            regions.append({"index": i, "error": g["error"]})
        else:
            argsz, flags, index, cap, size, off = struct.unpack("<IIIIQQ", g["body"])
            regions.append({"index": index, "flags": flags, "size": size})
    argsz, flags, nreg, nirq = struct.unpack("<IIII", r["body"])
    out = {"flags": flags, "regions": nreg, "irqs": nirq, "regionInfo": regions}
elif CASE == "config":
    version(s)

    def rd(off, n):
        r = call(s, 9, struct.pack("<QII", off, 7, n))
        return int.from_bytes(r["body"][16:16 + n], "little")

    def wr(off, n, v):
        return call(s, 10, struct.pack("<QII", off, 7, n) + v.to_bytes(n, "little"))

    ids = rd(0, 4)
    wr(0, 4, 0xdeadbeef)
    after = rd(0, 4)
    caps, at = [], rd(0x34, 1)
    while at:
        caps.append(rd(at, 1))
        at = rd(at + 1, 1)
    wr(0x10, 4, 0xffffffff)
    mask = rd(0x10, 4)
    bad = call(s, 9, struct.pack("<QII", 4095, 7, 4))
    out = {"ids": ids, "afterWrite": after, "caps": caps, "barMask": mask, "pin": rd(0x3d, 1), "outOfRange": bad["error"]}
elif CASE == "posted-write":
    version(s)
    send(s, 10, struct.pack("<QII", 0x100, 0, 4) + b"\1\2\3\4", flags=0x10)
    mid = send(s, 4, struct.pack("<IIII", 16, 0, 0, 0))
    r = recv(s)
    out = {"firstReplyId": r["id"], "expected": mid}
elif CASE == "set-irqs":
    version(s)
    e0, e1 = os.eventfd(0, os.EFD_NONBLOCK), os.eventfd(0, os.EFD_NONBLOCK)
    en = set_irqs(s, 0x24, 2, 0, 2, [e0, e1])
    _, fired = http("POST", f"/v1/devices/{DEV}/interrupts", {"index": "msix", "vectors": [0, 1, 1]})
    v0, v1 = os.eventfd_read(e0), os.eventfd_read(e1)
    _, efds = http("GET", "/v1/eventfds")
    st, rd_ext = http("POST", f"/v1/eventfds/{efds['items'][0]['fd']}/read")
    rd, wr = os.pipe()
    mism = set_irqs(s, 0x24, 2, 0, 2, [wr])
    os.close(wr)
    deassign = set_irqs(s, 0x24, 2, 1, 1)
    _, efds2 = http("GET", "/v1/eventfds")
    bad_range = set_irqs(s, 0x24, 2, 60, 10)
    out = {"enable": en["flags"], "delivered": fired["delivered"], "e0": v0, "e1": v1, "external": [e["external"] for e in efds["items"]],
           "readStatus": st, "readReason": rd_ext.get("reason"), "mismatch": mism["error"], "mismatchFdClosed": closed_by_peer(rd),
           "deassign": deassign["flags"], "eventfdsAfter": len(efds2["items"]), "badRange": bad_range["error"]}
elif CASE == "second-client":
    version(s)
    t = connect()
    t.settimeout(2)
    try:
        first = t.recv(1)
    except ConnectionResetError:
        first = b""
    out = {"secondClientClosed": first == b"", "firstStillServed": version(s)["flags"] == 1}
elif CASE == "disconnect":
    version(s)
    e0 = os.eventfd(0)
    set_irqs(s, 0x24, 2, 0, 1, [e0])
    _, before = http("GET", f"/v1/devices/{DEV}")
    s.close()
    import time
    for _ in range(100):
        _, st = http("GET", f"/v1/devices/{DEV}/vfio-user")
        if st["state"] == "listening":
            break
        time.sleep(0.02)
    _, after = http("GET", f"/v1/devices/{DEV}")
    _, efds = http("GET", "/v1/eventfds")
    out = {"before": before["irqType"], "after": after["irqType"], "eventfds": len(efds["items"]), "state": st["state"]}
print(json.dumps(out))
