"""The command line the small benchmark scripts share: ``--quick``, ``--repeats``."""

import argparse


def quick_main(doc, run, format_table, argv=None):
    """Parse ``--quick`` and ``--repeats``, run, print the table; returns the rows."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    rows = run(args.quick, args.repeats)
    print(format_table(rows))
    return rows
