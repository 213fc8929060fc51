"""The compiled French catalogue is the one the .po file describes, and nothing is left out."""
import os

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FOLDER = os.path.join(ROOT, "translations", "fr", "LC_MESSAGES")


def test_french_catalogue_is_complete_and_compiled():
    with open(os.path.join(FOLDER, "messages.po"), "rb") as f:
        po = read_po(f)
    with open(os.path.join(FOLDER, "messages.mo"), "rb") as f:
        mo = read_mo(f)
    untranslated = [m.id for m in po if m.id and not (m.string if isinstance(m.string, str)
                                                      else all(m.string))]
    assert untranslated == [], "translate these in messages.po, then `make translations`"
    fuzzy = [m.id for m in po if m.id and m.fuzzy]
    assert fuzzy == [], "check these guessed translations in messages.po, remove 'fuzzy'"
    def text(message):
        return tuple(message.string) if isinstance(message.string, (list, tuple)) else message.string

    stale = [m.id for m in po if m.id and (mo.get(m.id) is None or text(mo.get(m.id)) != text(m))]
    assert stale == [], "messages.mo is older than messages.po: run `make translations`"
