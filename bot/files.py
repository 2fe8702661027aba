"""Writing a file the user named (an export, a report): all or nothing, and a clear error instead of a traceback.

The folder is checked first (``check_folder``: a command calls it before its slow work, so a typo in the path
fails at once). The new content goes to a temporary file in the same folder, which then replaces the target in
one rename: a full disk, a killed process or a failing writer leaves the old file as it was (or no file), never a
truncated one. The temporary file is created readable and writable by its owner only, and so is the result: an
export holds names and e-mail addresses.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from bot.errors import Detail, Problem, WieweetError


def _os_detail(error: OSError) -> Detail:
    """The system's own (English) text of ``error``, with what it means in the operator's language before it
    (``bot.error_texts.DETAIL_KEYS``): a full disk, a read-only file system, a denied permission, or another."""
    kind = {
        errno.ENOSPC: "disk_full",
        errno.EDQUOT: "disk_full",
        errno.EROFS: "read_only",
        errno.EACCES: "write_denied",
        errno.EPERM: "write_denied",
    }.get(error.errno or 0, "write_other")
    return Detail(error.strerror or type(error).__name__, kind)


def _folder(path: Path) -> Path:
    return path.parent if str(path.parent) else Path()


def check_folder(path: Path) -> None:
    """Refuse a ``path`` that cannot be written: its folder is missing, not a folder or not writable for this user,
    or it is a folder itself."""
    folder = _folder(path)
    if not folder.is_dir():
        exists = folder.exists()
        what = "is not a folder" if exists else "does not exist"
        problem = "file_folder_not_folder" if exists else "file_no_folder"
        values = {"path": str(path), "folder": str(folder)}
        raise WieweetError("no_directory", Problem(f"{path}: the folder {folder} {what}", problem, values))
    if path.is_dir():
        raise WieweetError(
            "not_a_file", Problem(f"{path} is a folder; give a file name", "file_is_folder", {"path": str(path)})
        )
    if not os.access(folder, os.W_OK | os.X_OK):  # a read-only folder: refused now, not after minutes of work
        values = {"path": str(path), "folder": str(folder)}
        problem = Problem(f"{path}: the folder {folder} is not writable", "file_not_writable", values)
        raise WieweetError("not_writable", problem)


def replace_file(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path``, replacing an existing file only once the new one is complete (see the
    module docstring). Raises ``WieweetError`` with one line saying what went wrong."""
    check_folder(path)
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=_folder(path))
    except OSError as exc:
        english = f"{path}: cannot write in the folder ({exc.strerror})"
        values = {"path": str(path), "detail": _os_detail(exc)}
        raise WieweetError("write_failed", Problem(english, "file_folder_write_failed", values)) from exc
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(path)
    except OSError as exc:
        english = f"{path}: cannot write the file ({exc.strerror})"
        values = {"path": str(path), "detail": _os_detail(exc)}
        raise WieweetError("write_failed", Problem(english, "file_write_failed", values)) from exc
    finally:
        temporary.unlink(missing_ok=True)
