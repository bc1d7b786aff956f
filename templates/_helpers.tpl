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
symmetric-routing.labels: the labels of every object, standard ones first, then the tenant,
then commonLabels. The only place labels are written.
*/}}
{{- define "symmetric-routing.labels" -}}
helm.sh/chart: {{ include "symmetric-routing.chart" . }}
app.kubernetes.io/name: {{ include "symmetric-routing.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "symmetric-routing.name" . }}
symmetric-routing/tenant: {{ include "symmetric-routing.tenant" . }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.metadata: name, optional namespace and labels of an object.
Takes a dict: root (the top context), name, namespace (optional), component (the
app.kubernetes.io/component label), extraLabels and annotations (optional maps).
*/}}
{{- define "symmetric-routing.metadata" -}}
name: {{ .name }}
{{- with .namespace }}
namespace: {{ . }}
{{- end }}
labels:
  {{- include "symmetric-routing.labels" .root | nindent 2 }}
  app.kubernetes.io/component: {{ .component }}
  {{- with .extraLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
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
