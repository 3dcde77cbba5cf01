"""The text of a Word 97–2003 binary document (.doc, and WPS's .wps, which is the same format), by the
Debian tool catdoc: measured here, it reads a LibreOffice-saved Chinese .doc exactly in milliseconds,
where antiword refuses small files and LibreOffice itself takes about a second a file. Run in the reader
sandbox like every reader; without catdoc, or when it fails, the text is simply not read."""

from __future__ import annotations

import shutil
import subprocess

WORD_TEXT_SECONDS = 3  # catdoc reads a real file in milliseconds; a damaged one can make it loop


def word_binary_text(data: bytes) -> str | None:
    """The document's text, or None when it cannot be read (no catdoc, a broken file, a timeout)."""
    catdoc = shutil.which("catdoc")
    if catdoc is None:
        return None
    try:
        done = subprocess.run(
            [catdoc, "-d", "utf-8", "-w", "-"], input=data, capture_output=True, timeout=WORD_TEXT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = done.stdout.decode("utf-8", errors="replace").strip()
    return text if done.returncode == 0 and text else None
