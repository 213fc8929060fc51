"""Benchmark of the shipped templates in the sandbox. Run by hand; prints figures, asserts nothing.

    .venv/bin/python bench/templates.py [--rounds 200] [--repeats 7] [--invoices 2]

Renders the subject, text and HTML of every shipped level template in both languages on the
editor's examples (as the run does: one Prepared per message), `rounds` times, `repeats` times;
prints the CPU time per e-mail (median and best of the repeats; CPU time, not wall-clock, so
that other processes on a shared machine weigh less on the figure). `--invoices N` gives the
examples N invoices (the budget's cost grows with what a template reads, not with the data).
"""
import argparse
import os
import statistics
import sys
import time
import timeit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from portal.settings.defaults import LEVEL_TEMPLATES, default_document  # noqa: E402
from portal.settings.templates import LANGUAGES, Prepared, render, sample_context  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--invoices", type=int, default=2)
    options = parser.parse_args()
    templates = default_document()["templates"]
    messages = []
    for key in LEVEL_TEMPLATES:
        for lang in LANGUAGES:
            context = sample_context(lang)
            context["invoices"] = (context["invoices"] * options.invoices)[:options.invoices]
            messages.append((templates[key][lang], context))

    def one_round():
        for parts, context in messages:
            facts = Prepared(context)
            for part in ("subject", "text", "html"):
                render(parts[part], part, facts)

    one_round()  # compiled once, as in a run
    timer = timeit.Timer(one_round, timer=time.process_time)
    per_mail = [timer.timeit(number=options.rounds) / options.rounds / len(messages) * 1e6
                for _ in range(options.repeats)]
    print(f"{len(messages)} messages x {options.rounds} x {options.repeats}: "
          f"median {statistics.median(per_mail):.1f} us, best {min(per_mail):.1f} us per e-mail")


if __name__ == "__main__":
    main()
