#!/usr/bin/env python3
"""Sends an exact number of HTTP/1.1 keep-alive requests (GET /) to a server, over a few connections in
turn, each waiting for its answer: a bounded load for instruction and allocation counts, where wrk's
timed runs would not give a known request count. Usage: http-requests.py PORT REQUESTS [CONNECTIONS]"""
import selectors
import socket
import sys

port = int(sys.argv[1])
total = int(sys.argv[2])
width = int(sys.argv[3]) if len(sys.argv) > 3 else 10
request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def answered(buffer):
    """Length of the first complete response in buffer, or 0."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return 0
    length = 0
    for line in buffer[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    size = end + 4 + length
    return size if len(buffer) >= size else 0


selector = selectors.DefaultSelector()
sent = 0
done = 0
buffers = {}
for _ in range(min(width, total)):
    connection = socket.create_connection(("127.0.0.1", port))
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    connection.sendall(request)
    sent += 1
    buffers[connection] = b""
    selector.register(connection, selectors.EVENT_READ)
while done < total:
    events = selector.select(timeout=30)
    if not events:
        sys.exit(f"timed out after {done} answers")
    for key, _ in events:
        connection = key.fileobj
        data = connection.recv(65536)
        if not data:
            sys.exit(f"server closed a connection after {done} answers")
        buffers[connection] += data
        while (size := answered(buffers[connection])):
            buffers[connection] = buffers[connection][size:]
            done += 1
            if sent < total:
                connection.sendall(request)
                sent += 1
print(f"{done} answers")
