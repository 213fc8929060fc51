"""How long a text message is, as the networks count it.

A message in the GSM 03.38 alphabet (the 7-bit one: accented é, è, à, ù... are in it, but not
ê, ç in upper case is, â... are not) takes 160 characters in one segment, 153 a segment once it
needs several; `^ { } [ ] ~ | € \\` count twice (an escape). Any other character turns the whole
message into UCS-2: 70 in one segment, 67 a segment beyond. Each segment is billed."""
from dataclasses import dataclass

GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENDED = set("^{}\\[~]|€\f")


@dataclass(frozen=True)
class Length:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # characters as counted (an extended GSM character counts 2)
    segments: int
    per_segment: int  # characters a segment holds for this message

    @property
    def single(self):
        return 160 if self.encoding == "GSM-7" else 70


def length(message):
    """The message's encoding, counted length and number of segments. Segments are filled as
    phones fill them: an escaped GSM character (two septets) or a UTF-16 surrogate pair is
    never split across two segments, so a long message may need one more than units / 153."""
    if all(c in GSM7 or c in GSM7_EXTENDED for c in message):
        sizes = [2 if c in GSM7_EXTENDED else 1 for c in message]
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        sizes = [2 if ord(c) > 0xFFFF else 1 for c in message]  # UTF-16 code units
        single, multi, encoding = 70, 67, "UCS-2"
    units = sum(sizes)
    if units <= single:
        return Length(encoding, units, 1 if units else 0, single)
    segments, room = 1, multi
    for size in sizes:
        if size > room:
            segments, room = segments + 1, multi
        room -= size
    return Length(encoding, units, segments, multi)


def non_gsm(message):
    """The characters that make a message UCS-2 (to suggest replacing them), in order."""
    seen = []
    for c in message:
        if c not in GSM7 and c not in GSM7_EXTENDED and c not in seen:
            seen.append(c)
    return seen


MAX_SEGMENTS = 3  # a reminder's SMS longer than this is refused when the template is saved
