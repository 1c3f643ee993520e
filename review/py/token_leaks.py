"""A hostile server that echoes the token (it is in the request path) through every place a
message or field is built from. Exit 1 if the token shows in any message, repr or field.
Run: timeout 120 .venv/bin/python review/py/token_leaks.py"""
import sys

import greenapi
from raw import TOKEN, Raw, client, read_request

T = TOKEN.encode()
ANSWERS = {
    "500 body": b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: %d\r\n\r\n%s" % (len(T) + 6, b"echo: " + T),
    "302 location": b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1/" + T + b"\r\nContent-Length: 0\r\n\r\n",
    "bad status line": b"HTTP/1.1 2" + T + b" OK\r\nContent-Length: 0\r\n\r\n",
    "bad header": b"HTTP/1.1 200 OK\r\n" + T + b"\r\nContent-Length: 0\r\n\r\n",
    "bad json": b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n{\"urlAvatar\": %s}" % (len(T) + 15, T),
    "json escaped": (lambda b: b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(b), b))(
        b'{"urlAvatar":"\\u00%02x%s","reason":"x%sx"}' % (T[0], T[1:], T)),
    "huge header": b"HTTP/1.1 200 OK\r\nX-A: " + T * 4000 + b"\r\nContent-Length: 0\r\n\r\n",
    "chunk ext": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz;" + T + b"\r\n",
    "version": b"HTTP/9." + T + b" 200 OK\r\n\r\n",
}
bad = 0
for name, answer in ANSWERS.items():
    def h(conn, srv, n, answer=answer):
        if read_request(conn) is not None:
            conn.sendall(answer)

    srv = Raw(h)
    c = client(srv.url, timeout=2)
    try:
        r = c.get_avatar("79001234567@c.us")
        shown = repr(r) + r.url_avatar + str(r.reason)
    except greenapi.GreenApiError as e:
        shown = repr(e) + str(e) + repr(e.args)
    shown += repr(c)
    leak = TOKEN in shown
    bad += leak
    print(("DEFECT" if leak else "OK") + f": {name}: {shown[:160]}")
    srv.close()
sys.exit(1 if bad else 0)
