{{/*
symmetric-routing.name: the chart name, or nameOverride. Cut to 63 characters, the limit of
a label value.
*/}}
{{- define "symmetric-routing.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
symmetric-routing.fullname: the prefix of every derived object name. The release name alone
when it already holds the chart name, else "<release>-<chart>"; fullnameOverride wins.
Cut to 63 characters.
*/}}
{{- define "symmetric-routing.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.chart: "<chart>-<version>" for the helm.sh/chart label.
*/}}
{{- define "symmetric-routing.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
symmetric-routing.tenant: the tenant this release serves (values.tenant, else the release name).
*/}}
{{- define "symmetric-routing.tenant" -}}
{{- default .Release.Name .Values.tenant | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
symmetric-routing.labels: the labels every object carries: the standard ones, the tenant,
then commonLabels (which cannot replace the chart's own). The only place labels are made.
*/}}
{{- define "symmetric-routing.labels" -}}
{{- $own := dict
  "helm.sh/chart" (include "symmetric-routing.chart" .)
  "app.kubernetes.io/name" (include "symmetric-routing.name" .)
  "app.kubernetes.io/instance" .Release.Name
  "app.kubernetes.io/version" .Chart.AppVersion
  "app.kubernetes.io/managed-by" .Release.Service
  "symmetric-routing/tenant" (include "symmetric-routing.tenant" .) }}
{{- toYaml (merge $own (.Values.commonLabels | default dict)) }}
{{- end }}

{{/*
symmetric-routing.metadata: name, optional namespace, labels and annotations of an object.
Takes a dict: root (the top context), name, namespace (optional), component (the
app.kubernetes.io/component label), extraLabels and annotations (optional maps; the
chart's own labels win over extraLabels).
*/}}
{{- define "symmetric-routing.metadata" -}}
name: {{ .name }}
{{- with .namespace }}
namespace: {{ . }}
{{- end }}
labels:
  {{- merge (include "symmetric-routing.labels" .root | fromYaml) (dict "app.kubernetes.io/component" .component) (.extraLabels | default dict) | toYaml | nindent 2 }}
{{- with .annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.objectName: the object name of a map item: its explicit `name`, else
"<fullname>-<vrf>-<key>" (the vrf part left out for items that belong to no VRF).
Takes a dict: root, key, item, and optional vrf.
*/}}
{{- define "symmetric-routing.objectName" -}}
{{- if .item.name }}
{{- .item.name }}
{{- else if .vrf }}
{{- printf "%s-%s-%s" (include "symmetric-routing.fullname" .root) .vrf .key }}
{{- else }}
{{- printf "%s-%s" (include "symmetric-routing.fullname" .root) .key }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.policyName: the NodeNetworkConfigurationPolicy name of a VRF
(policy.name, else "<fullname>-<vrf>"). Takes a dict: root, vrfName, vrf.
*/}}
{{- define "symmetric-routing.policyName" -}}
{{- $policy := .vrf.policy | default dict }}
{{- $policy.name | default (printf "%s-%s" (include "symmetric-routing.fullname" .root) .vrfName) }}
{{- end }}

{{/*
symmetric-routing.egressServiceName / .egressServiceNamespace: the LoadBalancer Service an
EgressService modifies; the EgressService takes the same name and namespace.
Takes a dict: root, key, svc.
*/}}
{{- define "symmetric-routing.egressServiceName" -}}
{{- .svc.name | default .key }}
{{- end }}

{{- define "symmetric-routing.egressServiceNamespace" -}}
{{- .svc.namespace | default .root.Release.Namespace }}
{{- end }}

{{/*
symmetric-routing.sourceIPBy: an egress service's sourceIPBy, LoadBalancerIP unless set.
*/}}
{{- define "symmetric-routing.sourceIPBy" -}}
{{- .sourceIPBy | default "LoadBalancerIP" }}
{{- end }}

{{/*
symmetric-routing.egressServiceLabel: the node label OVN-Kubernetes sets on the node it
picks for a LoadBalancerIP egress service: "egress-service.k8s.ovn.org/<namespace>-<name>".
Takes a dict: root, key, svc.
*/}}
{{- define "symmetric-routing.egressServiceLabel" -}}
{{- printf "egress-service.k8s.ovn.org/%s-%s" (include "symmetric-routing.egressServiceNamespace" .) (include "symmetric-routing.egressServiceName" .) }}
{{- end }}

{{/*
symmetric-routing.egressServicePool: the key of the pool an egress service takes its
address from: addressPool, else the VRF's only pool (empty when it has none or several;
validate.yaml reports that). Takes a dict: svc, vrf.
*/}}
{{- define "symmetric-routing.egressServicePool" -}}
{{- if .svc.addressPool }}
{{- .svc.addressPool }}
{{- else if eq (len (.vrf.addressPools | default dict)) 1 }}
{{- keys .vrf.addressPools | first }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.advertisedPools: the pool keys an advertisement advertises, as a JSON
list: ipAddressPools, else every pool of the VRF unless ipAddressPoolSelectors picks them.
Takes a dict: adv, vrf.
*/}}
{{- define "symmetric-routing.advertisedPools" -}}
{{- if .adv.ipAddressPools }}
{{- toJson .adv.ipAddressPools }}
{{- else if .adv.ipAddressPoolSelectors }}
{{- toJson list }}
{{- else }}
{{- keys (.vrf.addressPools | default dict) | sortAlpha | toJson }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.durationMs: a Go duration string ("90s", "1m30s", "500ms") in whole
milliseconds, for comparing BGP timers. The schema has already checked the form.
*/}}
{{- define "symmetric-routing.durationMs" -}}
{{- $unitMs := dict "h" 3600000 "m" 60000 "s" 1000 "ms" 1 }}
{{- $total := 0.0 }}
{{- range regexFindAll "[0-9.]+(ms|h|m|s)" . -1 }}
{{- $unit := regexFind "(ms|h|m|s)$" . }}
{{- $total = addf $total (mulf (float64 (trimSuffix $unit .)) (get $unitMs $unit)) }}
{{- end }}
{{- int64 $total }}
{{- end }}

{{/*
symmetric-routing.selectorsDisjoint: "true" when no node can match both lists of label
selectors, judged on matchLabels only (two selectors are disjoint when they require
different values for one key). An empty list matches every node. Takes a dict: a, b.
*/}}
{{- define "symmetric-routing.selectorsDisjoint" -}}
{{- $disjoint := and (not (empty .a)) (not (empty .b)) }}
{{- range $sa := .a }}
{{- range $sb := $.b }}
{{- $pairDisjoint := false }}
{{- range $k, $v := ($sa.matchLabels | default dict) }}
{{- if and (hasKey ($sb.matchLabels | default dict) $k) (ne (toString $v) (toString (get $sb.matchLabels $k))) }}
{{- $pairDisjoint = true }}
{{- end }}
{{- end }}
{{- if not $pairDisjoint }}
{{- $disjoint = false }}
{{- end }}
{{- end }}
{{- end }}
{{- $disjoint }}
{{- end }}

{{/*
symmetric-routing.selectsLabel: "true" when a label selector (matchLabels and
matchExpressions) mentions the label key. Takes a dict: selector, label.
*/}}
{{- define "symmetric-routing.selectsLabel" -}}
{{- $found := hasKey (.selector.matchLabels | default dict) .label }}
{{- range (.selector.matchExpressions | default list) }}
{{- if eq .key $.label }}
{{- $found = true }}
{{- end }}
{{- end }}
{{- $found }}
{{- end }}
