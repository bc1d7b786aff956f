"""rig/go/renderprofile: the render profile that benchmarks/render.py --profile prints reads
Helm 4's own engine. Its rows must be this chart's templates with their real call counts,
its template functions must be the ones the render ran, and wrapping every template in two
clock readings must not change what any of them renders (the command compares the two
renders and fails when they differ)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from benchmarks.render import generated_site
from tests.support import helm

PROFILE = helm.TOOLS / "render-profile"


def profile(chart: Path, values: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert PROFILE.exists(), f"{PROFILE} is missing: run scripts/bootstrap.sh all"
    return subprocess.run([str(PROFILE), "-chart", str(chart), "-f", str(values), *args],
                          capture_output=True, text=True, timeout=120)


def rows(output: str) -> dict[str, tuple[int, float, float]]:
    """The named-template table: name -> (calls, own ms, with ms)."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"\s+(\S+(?: \S+)?)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+[\d.]+%$", line)
        if match:
            found[match.group(1)] = (int(match.group(2)), float(match.group(3)), float(match.group(4)))
    return found


def test_rows_are_the_charts_templates_with_their_calls(tmp_path: Path) -> None:
    """10 VRFs: the desiredState helper runs once per policy and advertisements once per VRF;
    the validation file's time with its callees holds its concerns', its own time not; with
    callees is never below own time."""
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(generated_site(10)))
    result = profile(helm.CHART, values, "-runs", "2", "-top", "200")
    assert result.returncode == 0, result.stderr
    table = rows(result.stdout)
    assert table["symmetric-routing.desiredState"][0] == 10
    assert table["symmetric-routing.advertisements"][0] == 10
    assert table["file templates/validate/values.yaml"][0] == 1
    validation = table["file templates/validate/values.yaml"][2]
    concerns = [name for name in table if name.startswith("symmetric-routing.validate.")]
    assert len(concerns) >= 6, concerns
    assert validation >= sum(table[name][2] for name in concerns) * 0.99
    # the file's own time leaves out the concerns it includes
    assert table["file templates/validate/values.yaml"][1] < validation / 2
    assert all(with_ms >= own for _, own, with_ms in table.values())
    assert re.search(r"values and schema [\d.]+ ms, engine [\d.]+ ms", result.stdout)


def test_functions_are_the_ones_the_render_ran(tmp_path: Path) -> None:
    """Every object's spec goes through toYaml, which the CPU samples must name; the chart
    calls no `sha256sum`, which they must not."""
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(generated_site(40)))
    result = profile(helm.CHART, values, "-runs", "6", "-top", "60")
    assert result.returncode == 0, result.stderr
    functions = result.stdout.split("by the template function it ran in:")[1]
    assert "engine.toYAML" in functions
    assert "(garbage collector)" in functions
    assert "sha256sum" not in functions


TRICKY = """\
{{- /* a comment, dropped by the wrapping */ -}}
{{- define "t.item" -}}
{{ if eq . 1 }}one{{ else if eq . 2 }}two{{ else }}many{{ end }}
{{- end }}
{{- define "t.loop" -}}
{{- range $i, $v := . }}{{ if eq $v 3 }}{{ continue }}{{ end }}{{ if eq $v 5 }}{{ break }}{{ end }}
- {{ $i }}: {{ include "t.item" $v }}
{{- else }}
- none
{{- end }}
{{- end }}
{{- define "t.depth" -}}
{{- if gt (int .) 0 }}{{ include "t.depth" (sub . 1) }}.{{ end }}
{{- end }}
kind: ConfigMap
apiVersion: v1
metadata:
  name: tricky
data:
  loop: |
    {{- include "t.loop" (list 1 2 3 4 5 6) | nindent 4 }}
  empty: {{ include "t.loop" list | quote }}
  with: {{ with .Values.missing }}{{ . }}{{ else with .Values.here }}{{ . }}{{ else }}none{{ end }}
  raw: {{ `{{ not a template }}` | quote }}
  {{- $count := 0 }}
  {{- range until 3 }}{{ $count = add $count 1 }}{{ end }}
  count: "{{ $count }}"
  depth: {{ include "t.depth" 4 | quote }}
  called: {{ template "t.item" 2 }}
"""


def test_wrapping_renders_every_construct_as_before(tmp_path: Path) -> None:
    """else if, with-else-with, range-else with break and continue, assignment, recursion,
    raw strings and `template`: the wrapped chart renders what the plain one does (else the
    command exits 1), and the rows count the recursion's every level."""
    chart = tmp_path / "tricky"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: tricky\nversion: 0.1.0\n")
    (chart / "templates" / "configmap.yaml").write_text(TRICKY)
    values = tmp_path / "values.yaml"
    values.write_text("here: there\n")
    rendered = subprocess.run([str(helm.helm_binary("helm4")), "template", "t", str(chart), "-f", str(values)],
                              capture_output=True, text=True, check=True).stdout
    data = yaml.safe_load(rendered)["data"]
    assert data == {"loop": "\n- 0: one\n- 1: two\n- 3: many\n", "empty": "\n- none", "with": "there",
                    "raw": "{{ not a template }}", "count": "3", "depth": "....", "called": "two"}
    result = profile(chart, values, "-runs", "1", "-top", "20")
    assert result.returncode == 0, result.stderr
    table = rows(result.stdout)
    assert table["t.depth"][0] == 5
    assert table["t.item"][0] == 3 + 1
    assert table["t.loop"][0] == 2
