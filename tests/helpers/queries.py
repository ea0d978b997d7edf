"""Ask the terminal questions (DA1, DA2, DSR 6, DECRQM ?25, XTVERSION) and print every byte
of the answers as hex, after a pause long enough for every terminal to answer."""

import os
import select
import sys
import termios
import time
import tty

fd = sys.stdin.fileno()
if len(sys.argv) > 1:
    time.sleep(float(sys.argv[1]))  # let clients attach first
saved = termios.tcgetattr(fd)
tty.setraw(fd)
os.write(1, b"\x1b[3;5H\x1b[c\x1b[>c\x1b[6n\x1b[?25$p\x1b[>q")
answer = b""
deadline = time.monotonic() + 1.5
while (left := deadline - time.monotonic()) > 0:
    if select.select([fd], [], [], left)[0]:
        answer += os.read(fd, 1024)
termios.tcsetattr(fd, termios.TCSANOW, saved)
os.write(1, b"\r\nanswers:" + answer.hex().encode() + b"\r\nend\r\n")
time.sleep(60)
