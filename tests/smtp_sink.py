"""An SMTP server on loopback for the e-mail tests (aiosmtpd).

Usage: smtp_sink.py DIR [PORT]. Prints the port it listens on, then stores each message
it accepts as DIR/<n>.eml. While DIR/fail exists it answers DATA with 451 (try later);
while DIR/reject exists, with 550 (refused for good); while DIR/hold exists, it stores the
message and then holds its answer for as many seconds as the file says, a minute when it
is empty (a sender that dies meanwhile never learns the message was accepted).
"""

import asyncio
import pathlib
import socket
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder: pathlib.Path):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        if (self.folder / "fail").exists():
            return "451 4.3.0 Try again later"
        if (self.folder / "reject").exists():
            return "550 5.7.1 Message refused"
        self.count += 1
        path = self.folder / f"{self.count:04d}.eml"
        path.with_suffix(".tmp").write_bytes(envelope.original_content or envelope.content)
        path.with_suffix(".tmp").rename(path)
        hold = self.folder / "hold"
        if hold.exists():
            await asyncio.sleep(float(hold.read_text().strip() or 60))
        return "250 2.0.0 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    folder = pathlib.Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    port = int(sys.argv[2]) if len(sys.argv) > 2 else free_port()
    controller = Controller(Sink(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    try:
        asyncio.get_event_loop().run_until_complete(asyncio.Event().wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
