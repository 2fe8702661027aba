"""Writing a file the user named (an export, a report): all or nothing, and a clear error instead of a traceback.

The folder is checked first (``check_folder``: a command calls it before its slow work, so a typo in the path
fails at once). The new content goes to a temporary file in the same folder, which then replaces the target in
one rename: a full disk, a killed process or a failing writer leaves the old file as it was (or no file), never a
truncated one. The temporary file is created readable and writable by its owner only, and so is the result: an
export holds names and e-mail addresses.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bot.errors import WieweetError


def _folder(path: Path) -> Path:
    return path.parent if str(path.parent) else Path()


def check_folder(path: Path) -> None:
    """Refuse a ``path`` that cannot be written: its folder is missing, not a folder or not writable for this user,
    or it is a folder itself."""
    folder = _folder(path)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise WieweetError("no_directory", f"{path}: the folder {folder} {what}")
    if path.is_dir():
        raise WieweetError("not_a_file", f"{path} is a folder; give a file name")
    if not os.access(folder, os.W_OK | os.X_OK):  # a read-only folder: refused now, not after minutes of work
        raise WieweetError("not_writable", f"{path}: the folder {folder} is not writable")


def replace_file(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path``, replacing an existing file only once the new one is complete (see the
    module docstring). Raises ``WieweetError`` with one line saying what went wrong."""
    check_folder(path)
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=_folder(path))
    except OSError as exc:
        raise WieweetError("write_failed", f"{path}: cannot write in the folder ({exc.strerror})") from exc
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(path)
    except OSError as exc:
        raise WieweetError("write_failed", f"{path}: cannot write the file ({exc.strerror})") from exc
    finally:
        temporary.unlink(missing_ok=True)
