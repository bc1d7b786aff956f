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
{{- /* OVN-Kubernetes sends host traffic to services through its masquerade subnet
(go-controller/pkg/config/config.go V4MasqueradeSubnet, V6MasqueradeSubnet); the current OpenShift
procedure keeps it on the main table with a third route rule */}}
{{- if and .vrfs (not $v.cluster.lookup) (empty $v.cluster.masqueradeSubnet) (not $v.cluster.noMasqueradeSubnet) }}
{{- $errors = append $errors "cluster.masqueradeSubnet: empty, so the VRFs' route rules would leave out OVN-Kubernetes' masquerade subnet (OVN-Kubernetes defaults to 169.254.169.0/29 and fd69::/125, OpenShift 4.14+ uses 169.254.0.0/17 and fd69::/112); set it (`python3 -m symrouting discover --kubectl` prints it), or set cluster.noMasqueradeSubnet: true if the rule is meant to be left out" }}
{{- end }}
{{- toJson $errors }}
{{- end }}
