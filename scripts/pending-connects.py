#!/usr/bin/env python3
"""Memory of outstanding connect keys (D20): issues N connect keys as fast as possible with
pipelined HTTP requests (none is redeemed) and prints the server's RSS before and after.

  scripts/pending-connects.py --port P --pid PID [--keys 100000] [--user-bytes 256] [--sockets 4]

Keys expire after 30 s, so all N must be issued well within that; the script reports how long
it took and how the answers were distributed (200 = key issued, 503 = at --max-pending-connects).
"""
import argparse
import socket
import threading
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def run(port, count, user_bytes, index, statuses):
    sock = socket.create_connection(("127.0.0.1", port))
    requests = []
    for i in range(count):
        user = (f"u{index}-{i}-" + "x" * user_bytes)[:user_bytes]
        body = "user=" + user
        requests.append(
            f"POST /api/kwm/v2/rtm/connect HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n{body}")

    def send():
        for start in range(0, count, 200):
            sock.sendall("".join(requests[start:start + 200]).encode())

    sender = threading.Thread(target=send)
    sender.start()
    seen = 0
    buffer = b""
    while seen < count:
        data = sock.recv(1 << 20)
        if not data:
            break
        buffer += data
        while True:
            head_end = buffer.find(b"\r\n\r\n")
            if head_end < 0:
                break
            head = buffer[:head_end].decode()
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if len(buffer) < head_end + 4 + length:
                break
            status = int(head.split(" ")[1])
            statuses[status] = statuses.get(status, 0) + 1
            buffer = buffer[head_end + 4 + length:]
            seen += 1
    sender.join()
    sock.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--keys", type=int, default=100000)
    parser.add_argument("--user-bytes", type=int, default=256)
    parser.add_argument("--sockets", type=int, default=4)
    args = parser.parse_args()
    before = rss_kib(args.pid)
    began = time.monotonic()
    per_socket = args.keys // args.sockets
    statuses = [dict() for _ in range(args.sockets)]
    threads = [threading.Thread(target=run, args=(args.port, per_socket, args.user_bytes, i, statuses[i]))
               for i in range(args.sockets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.monotonic() - began
    after = rss_kib(args.pid)
    total = {}
    for part in statuses:
        for status, n in part.items():
            total[status] = total.get(status, 0) + n
    print(f"keys requested {per_socket * args.sockets} in {took:.1f} s; answers {dict(sorted(total.items()))}")
    print(f"RSS before {before} KiB, after {after} KiB, "
          f"{(after - before) * 1024 / max(1, total.get(200, 0)):.0f} bytes per issued key")


if __name__ == "__main__":
    main()
