"""``junit.xml``: one testcase per check result, so CI shows each check and fails on NO-GO.

FAIL is a ``<failure>``; INCONCLUSIVE is an ``<error>`` (missing evidence must stop a
pipeline as surely as a failed check); PASS is a plain testcase.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from gameday.analysis.judge import Judgement
from gameday.analysis.verdict import Status
from gameday.contract.atomic import write_atomic

# characters XML 1.0 cannot hold at all, even escaped (control characters, lone surrogates)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` with every character XML cannot carry replaced by U+FFFD: valid for any message."""
    return _NOT_XML.sub("\ufffd", text)


def _clean(el: ET.Element) -> None:
    for e in el.iter():
        e.attrib = {k: xml_safe(v) for k, v in e.attrib.items()}
        if e.text:
            e.text = xml_safe(e.text)


def render(j: Judgement, run_name: str, status: str) -> bytes:
    suite = ET.Element("testsuite", name=f"gameday {run_name}", tests=str(len(j.results)),
                       failures=str(sum(r.status == Status.FAIL for r in j.results)),
                       errors=str(sum(r.status == Status.INCONCLUSIVE for r in j.results) + (status != "completed")))
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="verdict", value=j.verdict.value)
    ET.SubElement(props, "property", name="run_status", value=status)
    for r in j.results:
        case = ET.SubElement(suite, "testcase", classname=f"gameday.{r.id}", name=f"{r.id} [{r.window}]")
        text = f"value={r.value} threshold={r.threshold} evidence={r.evidence}\n{r.message}"
        if r.status == Status.FAIL:
            ET.SubElement(case, "failure", message=r.message).text = text
        elif r.status == Status.INCONCLUSIVE:
            ET.SubElement(case, "error", message=f"INCONCLUSIVE: {r.message}").text = text
        else:
            ET.SubElement(case, "system-out").text = text
    if status != "completed":
        case = ET.SubElement(suite, "testcase", classname="gameday.run", name="run completed")
        ET.SubElement(case, "error", message=f"run {status}")
    _clean(suite)
    out: bytes = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
    return out


def write(path: Path, j: Judgement, run_name: str, status: str) -> None:
    write_atomic(path, render(j, run_name, status).decode("utf-8"), root=path.parent)  # text: scrubbed
