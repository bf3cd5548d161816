"""`make bench`: run every benchmark and print its report."""

from __future__ import annotations

from bench import coldstart_bench, escalation_bench, package_bench, records_bench, reminder_bench, report_bench

BENCHMARKS = (records_bench, escalation_bench, reminder_bench, report_bench, package_bench, coldstart_bench)


def main() -> None:
    for module in BENCHMARKS:
        module.main([])
        print()


if __name__ == "__main__":
    main()
