"""Preflight checks for the symmetric-routing chart.

Standard library only, so that it runs from a ConfigMap on a stock Python image. The pure
core (cidr, plan, facts, checks, report) knows nothing of HTTP; the shell (api, gather, cli)
talks to the Kubernetes API through the service account or through `kubectl get --raw`.
"""
