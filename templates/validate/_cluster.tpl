{{/*
symmetric-routing.validate.cluster: the rules on the cluster section, as a JSON list of
messages. Takes the context of templates/validate/values.yaml (root, v, fullname, vrfs, addresses, blocks).
*/}}
{{- define "symmetric-routing.validate.cluster" -}}
{{- $errors := list }}
{{- $v := .v }}
{{- $discover := printf "`symrouting discover` (pipx install symrouting==%s)" .root.Chart.AppVersion }}
{{- if and $v.cluster.lookup (not $v.preflight.enabled) }}
{{- $errors = append $errors "cluster.lookup: needs preflight.enabled, which stops the install where lookup finds nothing (helm template, Argo CD); turn the preflight on, or set the cluster's CIDRs and drop cluster.lookup" }}
{{- end }}
{{- /* the route rules' ip-to must be the cluster and service networks: seed section 34.10.3 */}}
{{- if and .vrfs (not $v.cluster.lookup) (or (empty $v.cluster.serviceNetwork) (empty $v.cluster.clusterNetwork)) }}
{{- $errors = append $errors (printf "cluster.serviceNetwork and cluster.clusterNetwork: both must list the cluster's CIDRs, which each VRF's route rules send to the main table. On OpenShift read them with `oc get network.config/cluster -o jsonpath='{.status.serviceNetwork} {.status.clusterNetwork[*].cidr}'`, or print them with %s, or set cluster.lookup: true" $discover) }}
{{- end }}
{{- /* OVN-Kubernetes sends host traffic to services through its masquerade subnet
(go-controller/pkg/config/config.go V4MasqueradeSubnet, V6MasqueradeSubnet); the current OpenShift
procedure keeps it on the main table with a third route rule */}}
{{- if and .vrfs (not $v.cluster.lookup) (empty $v.cluster.masqueradeSubnet) (not $v.cluster.noMasqueradeSubnet) }}
{{- $errors = append $errors (printf "cluster.masqueradeSubnet: empty, so the VRFs' route rules would leave out OVN-Kubernetes' masquerade subnet (OVN-Kubernetes defaults to 169.254.169.0/29 and fd69::/125, OpenShift 4.14+ uses 169.254.0.0/17 and fd69::/112); set it: %s prints it; or set cluster.noMasqueradeSubnet: true if the rule is meant to be left out" $discover) }}
{{- end }}
{{- /* the cluster's ranges are disjoint: OpenShift refuses a service network that overlaps a
cluster network, and cluster networks that overlap each other (openshift/origin
pkg/network/apis/network/validation/validation.go ValidateClusterNetwork); OVN-Kubernetes
reserves its masquerade subnet beside both. One range twice would give two route rules alike. */}}
{{- $ranges := list }}
{{- range $field := list "serviceNetwork" "clusterNetwork" "masqueradeSubnet" }}
{{- range $i, $cidr := (get $v.cluster $field | default list) }}
{{- $ranges = append $ranges (dict "at" (printf "cluster.%s[%d]" $field $i) "cidr" $cidr "block" (include "symmetric-routing.ipBlock" $cidr | fromJson)) }}
{{- end }}
{{- end }}
{{- range $i, $a := $ranges }}
{{- range $j, $b := $ranges }}
{{- if and (lt $i $j) (eq (include "symmetric-routing.blocksOverlap" (dict "a" $a.block "b" $b.block)) "true") }}
{{- $errors = append $errors (printf "%s: %s overlaps %s of %s; the cluster's service, pod and masquerade ranges are disjoint: copy them as the cluster states them (%s)" $b.at $b.cidr $a.cidr $a.at $discover) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* a request above its limit: kubernetes pkg/apis/core/validation/validation.go
ValidateResourceRequirements "must be less than or equal to ... limit" */}}
{{- $resources := $v.hooks.resources | default dict }}
{{- range $name := list "cpu" "memory" }}
{{- $request := get ($resources.requests | default dict) $name }}
{{- $limit := get ($resources.limits | default dict) $name }}
{{- if and (toString $request) (toString $limit) }}
{{- if gt (include "symmetric-routing.quantity" $request | float64) (include "symmetric-routing.quantity" $limit | float64) }}
{{- $errors = append $errors (printf "hooks.resources.requests.%s: %v is above the limit %v; lower the request or raise hooks.resources.limits.%s" $name $request $limit $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $errors }}
{{- end }}

{{/*
symmetric-routing.quantity: a Kubernetes quantity ("500m", "64Mi", "1e9", 0.5) as a plain
number, to compare a request with its limit (apimachinery pkg/api/resource/quantity.go
suffixes: binary Ki-Ei, decimal n u m k M G T P E, or an exponent). The schema has checked
the form.
*/}}
{{- define "symmetric-routing.quantity" -}}
{{- $text := toString . }}
{{- $suffixes := dict "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 "n" 0.000000001 "u" 0.000001 "m" 0.001 "k" 1000.0 "M" 1000000.0 "G" 1000000000.0 "T" 1000000000000.0 "P" 1000000000000000.0 "E" 1000000000000000000.0 }}
{{- $suffix := regexFind "([KMGTPE]i|[numkMGTPE])$" $text }}
{{- if and $suffix (not (regexMatch "[eE][+-]?[0-9]+$" $text)) }}
{{- mulf (float64 (trimSuffix $suffix $text)) (get $suffixes $suffix) }}
{{- else }}
{{- float64 $text }}
{{- end }}
{{- end }}
