{{/*
symmetric-routing.validate.names: object names and labels, as a JSON list of messages: no
two objects of one kind share a name (the API server keeps only the last one applied), and
no user label overrides one the chart sets itself. Takes the context of
templates/validate/values.yaml (root, v, fullname, vrfs, addresses, blocks).
*/}}
{{- define "symmetric-routing.validate.names" -}}
{{- $errors := list }}
{{- $fullname := .fullname }}
{{- $v := .v }}
{{- $root := .root }}
{{- /* the chart's own label keys, from the helper that makes labels, asked without commonLabels */}}
{{- $ownLabels := append (include "symmetric-routing.labels" (dict "root" (dict "Values" dict "Release" $root.Release "Chart" $root.Chart) "vrf" "any") | fromYaml | keys) "app.kubernetes.io/component" }}
{{- range $label := keys ($v.commonLabels | default dict) | sortAlpha }}
{{- if has $label $ownLabels }}
{{- $errors = append $errors (printf "commonLabels.%s: the chart sets this label itself (the release, tenant, VRF and component an object belongs to, which the hooks and `kubectl -l` rely on); remove it" $label) }}
{{- end }}
{{- end }}
{{- $objectNames := dict }}
{{- range $key, $profile := ($v.bfdProfiles | default dict) }}
{{- $name := include "symmetric-routing.objectName" (dict "prefix" $fullname "key" $key "item" $profile) }}
{{- with include "symmetric-routing.claimName" (dict "names" $objectNames "key" (printf "BFDProfile/%s" $name) "owner" (printf "bfdProfiles.%s" $key)) }}
{{- $errors = append $errors (printf "bfdProfiles.%s.name: %q is also the name of %s; set distinct names" $key $name .) }}
{{- end }}
{{- end }}
{{- range $vrfName, $vrf := .vrfs }}
{{- $at := printf "vrfs.%s" $vrfName }}
{{- $policyName := include "symmetric-routing.policyName" (dict "prefix" $fullname "vrfName" $vrfName "vrf" $vrf) }}
{{- /* nmstate labels each enactment nmstate.io/policy=<policy name>, a label value of at
     most 63 characters (kubernetes-nmstate v0.86.0
     api/shared/nodenetworkconfigurationenactment_types.go; apimachinery validation.go
     IsValidLabelValue); a per-node policy's name is cut with a hash, an explicit one is not */}}
{{- if and (not $vrf.nodes) (gt (len $policyName) 63) }}
{{- $errors = append $errors (printf "%s.policy.name: %q has %d characters; nmstate puts the policy name in the nmstate.io/policy label of its enactments, which holds 63: set a name of at most 63 characters" $at $policyName (len $policyName)) }}
{{- end }}
{{- with include "symmetric-routing.claimName" (dict "names" $objectNames "key" (printf "NodeNetworkConfigurationPolicy/%s" $policyName) "owner" $at) }}
{{- $errors = append $errors (printf "%s.policy.name: %q is already the policy of %s; give each VRF its own policy name" $at $policyName .) }}
{{- end }}
{{- range $field := list "bgpPeers" "addressPools" "bgpAdvertisements" }}
{{- $kind := get (dict "bgpPeers" "BGPPeer" "addressPools" "IPAddressPool" "bgpAdvertisements" "BGPAdvertisement") $field }}
{{- range $key, $item := (get $vrf $field | default dict) }}
{{- $itemAt := printf "%s.%s.%s" $at $field $key }}
{{- $name := include "symmetric-routing.objectName" (dict "prefix" $fullname "vrf" $vrfName "key" $key "item" $item) }}
{{- with include "symmetric-routing.claimName" (dict "names" $objectNames "key" (printf "%s/%s" $kind $name) "owner" $itemAt) }}
{{- $errors = append $errors (printf "%s.name: %q is also the name of %s; set distinct names" $itemAt $name .) }}
{{- end }}
{{- end }}
{{- end }}
{{- range $key, $svc := ($vrf.egressServices | default dict) }}
{{- range $label := keys (($svc.service | default dict).labels | default dict) | sortAlpha }}
{{- if has $label $ownLabels }}
{{- $errors = append $errors (printf "%s.egressServices.%s.service.labels.%s: the chart sets this label itself; remove it" $at $key $label) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $errors }}
{{- end }}
