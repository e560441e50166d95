"""The course's kernels talk over CurveZMQ-encrypted TCP: no plain text on the loopback, no ipykernel warning."""

from __future__ import annotations

import base64
import struct
import sys
from pathlib import Path

import nbformat

from authkit.course.notebooks import KERNEL_MANAGER_CONFIG, execute

PROBE = "from ipykernel.kernelapp import IPKernelApp\nprint(IPKernelApp.instance().curve_secretkey is not None)"


def test_execute_starts_its_kernel_with_transport_encryption(tmp_path: Path) -> None:
    notebook = tmp_path / "probe.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)]), notebook)
    assert execute(notebook).cells[0].outputs[0]["text"] == "True\n"


def test_inline_figures_are_drawn_for_high_density_screens_at_the_same_size(tmp_path: Path) -> None:
    """Twice the pixels, the same ``<Figure size 1200x420 …>`` text that nbval compares."""
    notebook = tmp_path / "figure.ipynb"
    source = "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(12, 4.2))"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), notebook)
    outputs = [o for o in execute(notebook).cells[0].outputs if o["output_type"] == "display_data"]
    assert outputs[0]["data"]["text/plain"] == "<Figure size 1200x420 with 1 Axes>"
    png = base64.b64decode(outputs[0]["data"]["image/png"])
    drawn, shown = struct.unpack(">I", png[16:20])[0], outputs[0]["metadata"]["image/png"]["width"]
    assert drawn == 2 * shown, (drawn, shown)  # the PNG header's width: twice the width it is shown at
