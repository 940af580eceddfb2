"""What the benchmark scripts share: the command line (``--quick``, ``--repeats``) and
the BLAS kernels they report."""

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


def blas_kernels():
    """What threadpoolctl reports of the BLAS libraries loaded (their kernels)."""
    from threadpoolctl import threadpool_info
    return "; ".join(f"{i.get('internal_api')} {i.get('version')} "
                     f"{i.get('architecture')} kernels" for i in threadpool_info()
                     if i.get("user_api") == "blas") or "none found"
