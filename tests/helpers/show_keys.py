"""Echo every byte read from the terminal as hex, in raw mode: shows exactly what a
program receives through ptymux."""

import os
import sys
import termios
import tty

fd = sys.stdin.fileno()
tty.setraw(fd)
os.write(1, b"ready\r\n")
try:
    while True:
        data = os.read(fd, 1024)
        if not data or b"\x04" in data:
            break
        os.write(1, ("got:" + data.hex() + "\r\n").encode())
finally:
    termios.tcsetattr(fd, termios.TCSANOW, termios.tcgetattr(fd))
