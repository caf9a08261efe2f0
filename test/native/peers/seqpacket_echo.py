# A stand-in for criu swrk in the addon tests: it speaks on the seqpacket end it inherits as
# fd 3. Commands: "fd" answers with a pipe's read end (SCM_RIGHTS) whose other end wrote
# "through"; "exit" exits at once; anything else is echoed back.
import os
import socket

sock = socket.socket(fileno=3)
while True:
    data = sock.recv(1 << 20)
    if not data or data == b"exit":
        break
    if data == b"fd":
        r, w = os.pipe()
        os.write(w, b"through")
        os.close(w)
        socket.send_fds(sock, [b"here"], [r])
        os.close(r)
    else:
        sock.send(data)
