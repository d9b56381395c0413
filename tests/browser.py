"""Open a local HTML file in headless Chromium and report what happened, with the stdlib only.

Speaks the Chrome DevTools Protocol over --remote-debugging-pipe (JSON messages ending in NUL
on file descriptors 3 and 4), so it needs neither a websocket client nor a downloaded browser:
Debian's `chromium` is enough. It records every request the page makes, every console error,
uncaught exception and browser log error, and takes a full-page screenshot.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# the flags that keep Chromium quiet on a machine with no network (see the machine notes)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class BrowserReport:
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    console_errors: list[str] = field(default_factory=list)
    screenshot: bytes = b""  # full page, PNG
    thumbnail: bytes = b""  # the same page at a quarter scale, PNG, for pixel checks
    value: Any = None  # what the `evaluate` expression returned (JSON-like)


class _Pipe:
    """One CDP connection over the pipe: send commands, collect events on the way."""

    def __init__(self, to_browser: int, from_browser: int, deadline: float) -> None:
        self.to_browser = to_browser
        self.from_browser = from_browser
        self.deadline = deadline
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if ready:
                chunk = os.read(self.from_browser, 1 << 20)
                if not chunk:
                    raise ConnectionError("chromium closed the debugging pipe")
                self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        result: dict[str, Any] = json.loads(message)
        return result

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read_message()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                answer: dict[str, Any] = reply.get("result", {})
                return answer
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, session: str) -> None:
        def seen() -> bool:
            return any(e["method"] == method and e.get("sessionId") == session for e in self.events)

        while not seen():
            self.events.append(self._read_message())


def _collect(events: list[dict[str, Any]], report: BrowserReport) -> None:
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            report.requests.append(params["request"]["url"])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            texts = [str(arg.get("value", arg.get("description", ""))) for arg in params["args"]]
            report.console_errors.append("console: " + " ".join(texts))
        elif method == "Runtime.exceptionThrown":
            report.console_errors.append("exception: " + params["exceptionDetails"]["text"])
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            report.console_errors.append(f"log ({entry['source']}): {entry['text']}")


class Browser:
    """One headless Chromium for several pages (starting it is most of a page's cost)."""

    def __init__(self, timeout: float = 120.0) -> None:
        executable = chromium_path()
        if executable is None:
            raise FileNotFoundError("chromium is not installed")
        self.deadline = time.monotonic() + timeout
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()

        def wire_fds() -> None:  # in the child: our pipes become its fds 3 (in) and 4 (out)
            # lift both out of the way first, as either may already sit on 3 or 4
            high_in = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            high_out = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(high_in, 3)
            os.dup2(high_out, 4)

        self.profile = tempfile.TemporaryDirectory(prefix="greenery-chromium-")
        self.log = open(Path(self.profile.name) / "chromium.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self.profile.name}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
            pass_fds=(3, 4),
            preexec_fn=wire_fds,  # noqa: PLW1509 - no threads start browsers here
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.to_browser, self.from_browser = to_browser_w, from_browser_r
        self.pipe = _Pipe(to_browser_w, from_browser_r, self.deadline)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.pipe.send("Browser.close")
        except (ConnectionError, TimeoutError, OSError):
            pass
        finally:
            os.close(self.to_browser)
            os.close(self.from_browser)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.log.close()
            self.profile.cleanup()

    def open(
        self,
        path: Path,
        width: int = 1280,
        height: int = 900,
        media: str = "screen",
        evaluate: str | None = None,
        thumbnail: bool = True,
    ) -> BrowserReport:
        """Load file://path in a fresh tab at `width`; its requests, errors, screenshot, and
        the value of `evaluate` (a JavaScript expression) once the page has loaded.

        media="print" lays the page out with its print styles, as printing it would.
        """
        pipe = self.pipe
        target = pipe.send("Target.createTarget", url="about:blank")["targetId"]
        session = pipe.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            pipe.send(f"{domain}.enable", session)
        pipe.send(
            "Emulation.setDeviceMetricsOverride",
            session,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        pipe.send("Emulation.setEmulatedMedia", session, media=media)
        pipe.events.clear()  # only what the page itself does counts
        pipe.send("Page.navigate", session, url=path.resolve().as_uri())
        pipe.wait_for("Page.loadEventFired", session)
        report = BrowserReport()
        if evaluate is not None:
            result = pipe.send("Runtime.evaluate", session, expression=evaluate, returnByValue=True)
            if "exceptionDetails" in result:
                raise RuntimeError(f"evaluate: {result['exceptionDetails']}")
            report.value = result["result"].get("value")
        content = pipe.send("Page.getLayoutMetrics", session)["cssContentSize"]
        full = {"x": 0, "y": 0, "width": width, "height": int(content["height"]) + 1}
        scales = (1.0, 0.25) if thumbnail else (1.0,)
        shots = [
            _b64(
                pipe.send(
                    "Page.captureScreenshot",
                    session,
                    format="png",
                    captureBeyondViewport=True,
                    clip={**full, "scale": scale},
                )["data"]
            )
            for scale in scales
        ]
        report.screenshot = shots[0]
        report.thumbnail = shots[-1] if thumbnail else b""
        _collect([e for e in pipe.events if e.get("sessionId") == session], report)
        pipe.send("Target.closeTarget", targetId=target)
        return report


def open_page(
    path: Path, width: int = 1280, height: int = 900, media: str = "screen", timeout: float = 60.0
) -> BrowserReport:
    """Load file://path in a fresh headless Chromium; return its requests, errors, screenshot."""
    with Browser(timeout) as browser:
        return browser.open(path, width, height, media)


def _b64(text: str) -> bytes:
    import base64

    return base64.b64decode(text)


def png_pixels(data: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Decode an 8-bit RGB/RGBA, non-interlaced PNG (what Chromium writes) to RGB pixels."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    position, idat = 8, b""
    width = height = channels = 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise ValueError(f"unsupported PNG (depth {depth}, colour type {colour})")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    pixels: list[tuple[int, int, int]] = []
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            elif kind == 4:
                corner = previous[i - channels] if i >= channels else 0
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + best) & 0xFF
        pixels += [tuple(line[i : i + 3]) for i in range(0, stride, channels)]  # type: ignore[misc]
        previous = line
    return width, height, pixels
