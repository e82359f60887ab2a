"""The sandbox's Prometheus: its config, its file_sd targets, its command line, its rules.

``rules.yml`` holds the recording and alert rules (checklist §5.4), tested by
``rules_test.yml`` with promtool; ``prometheus.py`` renders everything else.
"""

from pathlib import Path

RULES_PATH = Path(__file__).with_name("rules.yml")
RULES_TEST_PATH = Path(__file__).with_name("rules_test.yml")
