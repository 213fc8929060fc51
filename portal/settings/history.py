"""What changed between two settings documents, as lines a person reads in the history:
`policies.default.levels[1].offset_days: 7 -> 10`, `templates.cordial.fr.subject: changed`."""

SHORT = 60


def _flatten(value, path, out):
    if isinstance(value, dict):
        for key in value:
            _flatten(value[key], f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, item in enumerate(value):
            name = item.get("name") or item.get("semester")
            _flatten(item, f"{path}.{name}" if name else f"{path}[{i}]", out)
    else:
        out[path] = value
    return out


def _show(value):
    text = repr(value) if not isinstance(value, str) else value
    text = " ".join(text.split())
    return text if len(text) <= SHORT else text[:SHORT - 1] + "…"


def changes_between(before, after):
    """["path: old -> new", ...] in document order; long texts are only said to have changed."""
    old, new = _flatten(before or {}, "", {}), _flatten(after or {}, "", {})
    lines = []
    for path in list(old) + [p for p in new if p not in old]:
        if path not in new:
            lines.append(f"{path}: removed")
        elif path not in old:
            lines.append(f"{path}: added ({_show(new[path])})")
        elif old[path] != new[path]:
            if path.startswith("templates.") and not path.endswith(".subject"):
                lines.append(f"{path}: changed")
            else:
                lines.append(f"{path}: {_show(old[path])} -> {_show(new[path])}")
    return lines
