"""Reference data shipped in shipments/data: divisions and provinces."""
import csv
from importlib import resources

from sqlalchemy.orm import Session

from shipments.models import Division, Province
from shipments.models.enums import DivisionLevel

SHAOXING = ("330600", "绍兴市", "Shaoxing")


def read_csv(name: str) -> list[dict]:
    """Read one of the package's reference CSV files."""
    with resources.files("shipments.data").joinpath(name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_divisions(session: Session) -> int:
    """Insert or update Shaoxing's counties and townships; return how many rows."""
    code, name, name_en = SHAOXING
    session.merge(Division(code=code, name=name, name_en=name_en, level=DivisionLevel.CITY, parent_code=None))
    rows = read_csv("shaoxing_divisions.csv")
    # Parents before children so the self-referencing foreign key holds.
    rows.sort(key=lambda row: row["level"] != "county")
    for row in rows:
        session.merge(Division(
            code=row["code"], name=row["name"], name_en=row["name_en_pinyin"],
            level=DivisionLevel(row["level"]), parent_code=row["parent_code"],
        ))
        session.flush()
    return len(rows) + 1


def load_provinces(session: Session) -> int:
    """Insert or update the 34 province-level units; return how many rows."""
    rows = read_csv("china_provinces.csv")
    for row in rows:
        session.merge(Province(
            code=row["code"], name=row["name"], short_name=row["short_name"], name_en=row["name_en"],
            region=row["region"], remote=row["remote_common"] == "yes",
        ))
    session.flush()
    return len(rows)
