"""`releasebot bench-start`'s parts that need no processes: the generated catalog and the
report (the benchmark itself prints figures; nothing here is timed)."""

from __future__ import annotations

from bot.app.catalog_file import parse_catalog_file
from bot.benchmarks.start import Figure, StartResult, generated_catalog


def test_the_generated_catalog_is_valid_and_written_out_in_full():
    text = generated_catalog(10)
    loaded = parse_catalog_file(text, "generated.yaml")
    assert len(loaded.catalog.services) == 10
    assert sorted(loaded.catalog.services)[:2] == ["checkout-0000", "checkout-0004"]
    assert "&id" not in text and "*id" not in text  # no YAML aliases: every service parsed


def test_the_report_puts_each_figure_beside_its_baseline():
    result = StartResult(
        3,
        1000,
        [
            Figure("python -c pass", [(0.02, 0.02), (0.03, None), (0.025, 0.02)], True),
            Figure("releasebot --help", [(0.2, 0.18), (0.3, 0.2), (0.25, 0.19)]),
        ],
        "releasebot",
    )
    lines = result.report().splitlines()
    assert "median of 3 runs" in lines[0]
    assert lines[1].split() == ["python", "-c", "pass", "0.025", "s", "(0.020-0.030)", "CPU",
                                "0.020", "s", "baseline"]  # fmt: skip
    assert lines[2].split()[2:] == ["0.250", "s", "(0.200-0.300)", "CPU", "0.190", "s"]
