"""Shipping programs."""
from sqlalchemy import Select, select

from shipments.models import Program


def list_programs() -> Select:
    """Select all programs, largest target first."""
    return select(Program).order_by(Program.target_pieces.desc(), Program.id)
