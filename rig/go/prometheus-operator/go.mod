// No tool: this module pins the prometheus-operator release whose PrometheusRule CRD
// (example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml in the module
// zip) tests/test_alerts.py validates the chart's PrometheusRule against, read from the Go
// module cache (`go mod download -json` here), never copied into the repository.
module symrouting.invalid/rig/prometheus-operator

go 1.26.7

require github.com/prometheus-operator/prometheus-operator v0.85.0
