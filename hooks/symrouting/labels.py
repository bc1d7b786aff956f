"""Node labels and the selectors that pick nodes by them."""

from __future__ import annotations

from typing import Any

# The label a node carries its name in, which per-node policies select by.
HOSTNAME = "kubernetes.io/hostname"


def selector_matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """A NNCP nodeSelector (a plain label map) matches a node's labels."""
    return all(labels.get(key) == value for key, value in selector.items())


def label_selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions) matches a node's labels,
    as apimachinery v0.36.3 pkg/labels/selector.go Requirement.Matches does: NotIn and
    DoesNotExist hold where the key is absent; an empty selector matches every node."""
    if not selector_matches({str(k): str(v) for k, v in (selector.get("matchLabels") or {}).items()}, labels):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        present, values = key in labels, expression.get("values") or []
        if operator == "In":
            held = present and labels[key] in values
        elif operator == "NotIn":
            held = not present or labels[key] not in values
        elif operator == "Exists":
            held = present
        elif operator == "DoesNotExist":
            held = not present
        else:  # metav1.LabelSelectorAsSelector refuses any other operator: MetalLB selects nothing
            held = False
        if not held:
            return False
    return True


def selector_text(selector: dict[str, Any]) -> str:
    """A label selector as kubectl's -l takes it and metav1.FormatLabelSelector writes it
    ("zone in (a,b),!infra"); "" for the empty selector, which matches every node."""
    parts = [f"{key}={value}" for key, value in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), ",".join(expression.get("values") or [])
        parts.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": f"{key}",
                      "DoesNotExist": f"!{key}"}.get(str(operator), f"{key} {operator} ({values})"))
    return ",".join(parts)
