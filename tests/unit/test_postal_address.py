"""The six address lines of a registered letter (NF Z10-011) from an address as people write
it, with its country; an address that cannot be read is refused with what to do."""
import pytest

from portal.post.maileva import PostRefused, address_lines


@pytest.mark.parametrize("address, lines, country", [
    ("12 rue des Tanneurs, 69002 Lyon", ["", "", "12 rue des Tanneurs", "", "69002 Lyon"], "FR"),
    ("Bâtiment B, 12 rue des Tanneurs, 69002 Lyon, France",
     ["", "Bâtiment B", "12 rue des Tanneurs", "", "69002 Lyon"], "FR"),
    ("Hauptstr. 1, 10115 Berlin, Deutschland", ["", "", "Hauptstr. 1", "", "10115 Berlin"], "DE"),
    ("1 High St, London SW1A 1AA, Royaume-Uni", ["", "", "1 High St", "", "London SW1A 1AA"],
     "GB"),
    ("Via Roma 3, 00184 Roma, Italie", ["", "", "Via Roma 3", "", "00184 Roma"], "IT"),
])
def test_lines_and_country(address, lines, country):
    assert address_lines("Client", address) == (["Client"] + lines, country)


@pytest.mark.parametrize("address", [None, "", "12 rue des Tanneurs 69002 Lyon", "Lyon"])
def test_an_address_that_cannot_be_read_is_refused_with_what_to_do(address):
    with pytest.raises(PostRefused, match="post the letter by hand"):
        address_lines("Client", address)


def test_a_long_line_is_cut_to_38_characters():
    lines, _ = address_lines("Société Anonyme des Établissements Industriels Réunis",
                             "12 rue des Tanneurs, 69002 Lyon")
    assert len(lines[0]) == 38
