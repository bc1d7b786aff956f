"""The CRDs' CEL rules (x-kubernetes-validations), evaluated for a rendered object as the API
server does on create, so that the suite refuses what the API server would.

The runtime is cel-python (celpy), the one the suite pins; the Kubernetes CEL library
functions the pinned CRDs use beyond standard CEL are added here, each from its upstream
file (kubernetes staging/src/k8s.io/apiserver/pkg/cel/library/). Standard CEL covers the
rest: `duration()` with Go duration strings, `has()`, `size()`, `all()`.

Transition rules (those that name `oldSelf`) are left out: the API server evaluates them only
on update, when an old object exists (kubernetes staging/src/k8s.io/apiextensions-apiserver/
pkg/apiserver/schema/cel/validation.go). A rule that calls a function not provided here
fails the validation with the reason, instead of passing unseen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import celpy
from celpy import celtypes

# apimachinery pkg/util/validation/validation.go: IsQualifiedName and IsDNS1123Subdomain.
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def is_qualified_name(value: str) -> list[str]:
    """The errors apimachinery's IsQualifiedName reports; empty when the value is valid."""
    errors = []
    parts = value.split("/")
    if len(parts) > 2:
        return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.'"]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errors.append("prefix part must be non-empty")
        elif len(prefix) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(prefix):
            errors.append("prefix part must be a lowercase RFC 1123 subdomain")
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part must be no more than 63 characters")
    if not _QUALIFIED_NAME.fullmatch(name):
        errors.append("name part must consist of alphanumeric characters, '-', '_' or '.', "
                      "and must start and end with an alphanumeric character")
    return errors


class Optional:
    """CEL's optional type, as library/format.go returns it from validate()."""

    def __init__(self, value: Any = None) -> None:
        self.value = value


class Format:
    def __init__(self, name: str, check: Any) -> None:
        self.name, self.check = name, check


# library/format.go ConstantFormats: only the formats the pinned CRDs call.
_FORMATS = {"qualifiedName": Format("QualifiedName", is_qualified_name)}
_FORMAT_NAMESPACE = celtypes.StringType("format")


def _format_function(name: str) -> Any:
    def constant(namespace: Any) -> Format:
        return _FORMATS[name]
    return constant


def _validate(fmt: Format, value: celtypes.StringType) -> Optional:
    """<Format>.validate(str) -> ?list<string>: none when valid (library/format.go formatValidate)."""
    errors = fmt.check(str(value))
    return Optional(celtypes.ListType([celtypes.StringType(e) for e in errors]) if errors else None)


def _has_value(optional: Optional) -> celtypes.BoolType:
    return celtypes.BoolType(optional.value is not None)


FUNCTIONS: dict[str, Any] = {name: _format_function(name) for name in _FORMATS}
FUNCTIONS.update({"validate": _validate, "hasValue": _has_value})


@cache
def _program(rule: str) -> Any:
    env = celpy.Environment()
    return env.program(env.compile(rule), functions=FUNCTIONS)


def _rules(schema: dict[str, Any], value: Any, path: str) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(path, rule, value) for every rule of the schema whose node the value reaches."""
    if value is None:
        return
    for rule in schema.get("x-kubernetes-validations") or []:
        yield path, rule, value
    if isinstance(value, dict):
        for key, child in value.items():
            if key in (schema.get("properties") or {}):
                yield from _rules(schema["properties"][key], child, f"{path}/{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                yield from _rules(schema["additionalProperties"], child, f"{path}/{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, child in enumerate(value):
            yield from _rules(schema["items"], child, f"{path}/{index}")


def validate(schema: dict[str, Any], obj: dict[str, Any]) -> list[str]:
    """Every CEL rule of an openAPIV3Schema the object breaks, as text naming its path."""
    problems = []
    for path, rule, value in _rules(schema, obj, ""):
        if re.search(r"\boldSelf\b", rule["rule"]):
            continue
        try:
            result = _program(rule["rule"]).evaluate({"self": celpy.json_to_cel(value), "format": _FORMAT_NAMESPACE})
        except Exception as error:  # noqa: BLE001 - an unevaluable rule is a finding, not a pass
            problems.append(f"CEL rule {rule['rule']!r} could not be evaluated ({error}) at {path or '/'}")
            continue
        if isinstance(result, celpy.CELEvalError):
            problems.append(f"CEL rule {rule['rule']!r} could not be evaluated ({result}) at {path or '/'}")
        elif not (isinstance(result, celtypes.BoolType) and bool(result)):
            message = rule.get("message") or f"failed rule: {rule['rule']}"
            problems.append(f"{message} (CEL: {rule['rule']}) at {path or '/'}")
    return problems
