"""One classifier of ptes (swapops.pte_kind), used by every printer.

    pte value  --pte_kind-->  none | present | swap | migration(_read|_write) | file
    PteView, the state picture, the trace table and the bit-field picture all agree with it
"""

import ast
from pathlib import Path

import pytest

from refmodel.eras import MIGRATION_RFC_V1
from refmodel.kernel import Kernel
from refmodel.eras import ERAS
from refmodel.pgtable import PAGE_COPY, _PAGE_FILE, pfn_pte
from refmodel.render.pte import pte_fields
from refmodel.render.state import describe_pte
from refmodel.render.trace import pte_cell
from refmodel.swapops import (MIGRATION_2_6_18, NO_MIGRATION, pte_kind, swp_entry,
                              swp_entry_to_pte)
from refmodel.views import PteView

ROOT = Path(__file__).resolve().parents[2] / "refmodel"

PTES = {
    "none": 0,
    "present": pfn_pte(5, PAGE_COPY),
    "swap slot": swp_entry_to_pte(swp_entry(0, 7)),
    "type 30": swp_entry_to_pte(swp_entry(30, 5)),
    "type 31": swp_entry_to_pte(swp_entry(31, 5)),
    "file": _PAGE_FILE | (3 << 8),
}

EXPECTED = {           # types -> the kind of each pte above
    "2.6.18": (MIGRATION_2_6_18, ["none", "present", "swap", "migration_read",
                                  "migration_write", "file"]),
    "rfc-v1": (MIGRATION_RFC_V1, ["none", "present", "swap", "swap", "migration", "file"]),
    "2.6.17": (NO_MIGRATION, ["none", "present", "swap", "swap", "swap", "file"]),
}


@pytest.mark.parametrize("era", list(EXPECTED))
def test_pte_kind(era):
    types, kinds = EXPECTED[era]
    assert [pte_kind(p, types) for p in PTES.values()] == kinds


@pytest.mark.parametrize("era", list(EXPECTED))
def test_every_printer_agrees_with_the_classifier(era):
    types, kinds = EXPECTED[era]
    k = Kernel(ERAS[era], 1, 16)
    for pte, kind in zip(PTES.values(), kinds):
        if kind == "file":
            continue                                  # never made by the model
        view = PteView(pte, types)
        assert view.is_migration == kind.startswith("migration")
        assert view.is_write_migration == (kind == "migration_write")
        assert describe_pte(k, pte)[0] == ("migration" if kind.startswith("migration") else kind)
        cell = pte_cell(k, pte)
        assert cell.startswith({"none": "-", "present": "ro", "swap": "swap", "migration": "MIG ",
                                "migration_read": "MIG-R", "migration_write": "MIG-W"}[kind])
        assert pte_fields(pte, types)[0] == ("migration" if kind.startswith("migration") else kind)


def test_printers_do_not_classify_ptes_themselves():
    """No printer calls is_migration_entry / is_write_migration_entry: pte_kind decides."""
    for path in [ROOT / "views.py", *sorted((ROOT / "render").glob("*.py"))]:
        tree = ast.parse(path.read_text())
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        assert not names & {"is_migration_entry", "is_write_migration_entry"}, path.name
