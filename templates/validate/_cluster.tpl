{{/*
symmetric-routing.validate.cluster: the rules on the cluster section, as a JSON list of
messages. Takes the context of templates/validate/values.yaml (root, v, fullname, vrfs).
*/}}
{{- define "symmetric-routing.validate.cluster" -}}
{{- $errors := list }}
{{- $v := .v }}
{{- if and $v.cluster.lookup (not $v.preflight.enabled) }}
{{- $errors = append $errors "cluster.lookup: needs preflight.enabled, which stops the install where lookup finds nothing (helm template, Argo CD); turn the preflight on, or set the cluster's CIDRs and drop cluster.lookup" }}
{{- end }}
{{- /* the route rules' ip-to must be the cluster and service networks: seed section 34.10.3 */}}
{{- if and .vrfs (not $v.cluster.lookup) (or (empty $v.cluster.serviceNetwork) (empty $v.cluster.clusterNetwork)) }}
{{- $errors = append $errors "cluster.serviceNetwork and cluster.clusterNetwork: both must list the cluster's CIDRs, which each VRF's route rules send to the main table. On OpenShift read them with `oc get network.config/cluster -o jsonpath='{.status.serviceNetwork} {.status.clusterNetwork[*].cidr}'`, or print them with `python3 -m symrouting discover --kubectl` (hooks/), or set cluster.lookup: true" }}
{{- end }}
{{- toJson $errors }}
{{- end }}
