"""Small WTForms helpers shared by the page modules."""
from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice, ValidationError


def options(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs (WTForms 3.3 deprecates bare tuples)."""
    return [SelectChoice(str(value), label) for value, label in pairs]


class OneOfOptions:
    """The submitted value must be one of the field's options (which the view fills per user)."""

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        values = {str(c.value if isinstance(c, SelectChoice) else c[0]) for c in field.choices or ()}
        if field.data and field.data not in values:
            raise ValidationError(self.message)


class DateWithin:
    """A date within a plausible range (years 2000–2099): far dates overflow time zone arithmetic."""

    FIRST, LAST = date(2000, 1, 1), date(2099, 12, 31)

    def __call__(self, form, field):
        if field.data and not self.FIRST <= field.data <= self.LAST:
            raise ValidationError(_l("Choose a date between %(first)s and %(last)s.",
                                     first=self.FIRST.isoformat(), last=self.LAST.isoformat()))
