"""Stored embeddings (``storage.models.Embedding``): look-up by text hash, insert, purge. Keyword-only, never commit."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import Embedding

_CHUNK = 500  # bound parameters per statement


def get_embeddings(session: Session, *, model: str, hashes: Sequence[str]) -> dict[str, bytes]:
    """The stored vectors of ``model`` for these text hashes (those that have one)."""
    out: dict[str, bytes] = {}
    for i in range(0, len(hashes), _CHUNK):
        chunk = list(hashes[i : i + _CHUNK])
        query = select(Embedding.content_hash, Embedding.vector).where(
            Embedding.model == model, Embedding.content_hash.in_(chunk)
        )
        out.update((h, bytes(v)) for h, v in session.execute(query))
    return out


def create_embeddings(
    session: Session, *, model: str, dim: int, items: Sequence[tuple[str, bytes]], now: datetime
) -> int:
    """Store vectors not stored yet (another replica may have stored the same text meanwhile: kept once)."""
    have = get_embeddings(session, model=model, hashes=[h for h, _ in items])
    new = {h: v for h, v in items if h not in have}
    session.add_all(Embedding(model=model, content_hash=h, dim=dim, vector=v, created_at=now) for h, v in new.items())
    session.flush()
    return len(new)


def delete_unused_embeddings(session: Session, *, model: str, keep: Collection[str], before: datetime) -> int:
    """Delete ``model``'s vectors created before ``before`` whose text hash is not in ``keep`` (texts no record
    has any more: a changed or erased profile). Returns how many were deleted."""
    rows = session.execute(
        select(Embedding.id, Embedding.content_hash).where(Embedding.model == model, Embedding.created_at < before)
    )
    gone = [ident for ident, h in rows if h not in keep]
    for i in range(0, len(gone), _CHUNK):
        session.execute(delete(Embedding).where(Embedding.id.in_(gone[i : i + _CHUNK])))
    return len(gone)


def delete_embeddings(
    session: Session, *, hashes: Collection[str], model_suffix: str = "", except_suffix: str = ""
) -> int:
    """Delete the vectors of these text hashes under every model id ending in ``model_suffix`` and not in
    ``except_suffix`` (question vectors are stored per embedder, ``<model>#question``, documents' under the
    embedder's own id; the caller need not know which embedder stored them). Returns how many were deleted."""
    wanted = sorted(hashes)
    gone = 0
    for i in range(0, len(wanted), _CHUNK):
        rows = session.execute(
            select(Embedding.id).where(
                Embedding.model.endswith(model_suffix, autoescape=True),
                *((~Embedding.model.endswith(except_suffix, autoescape=True),) if except_suffix else ()),
                Embedding.content_hash.in_(wanted[i : i + _CHUNK]),
            )
        )
        ids = [ident for (ident,) in rows]
        if ids:
            session.execute(delete(Embedding).where(Embedding.id.in_(ids)))
        gone += len(ids)
    return gone
