"""The schema's tables, one module per area of the product; ``storage.models`` gathers them all (import from there).

All of them are mapped on the one declarative ``Base`` of ``storage.base``, so there is one metadata, which
Alembic compares with the migrations.
"""
