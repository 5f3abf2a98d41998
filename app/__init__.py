"""Spring Breeze reporting service."""

from sqlmodel import SQLModel

# Set here, before any table model is defined, because SQLAlchemy names constraints when a
# table is created: a convention set later would leave them unnamed.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
