{{/*
symmetric-routing.metallbFieldVersions: the MetalLB CRD fields that only some supported
MetalLB versions have, by kind, with the version that added each, as JSON. Derived from the
CRDs of each supported version (metallb config/crd/bases, v0.15.2 v0.15.3 v0.16.1 v0.16.2) by
scripts/metallb_fields.py, which writes the line between the markers; tests check it.
*/}}
{{- define "symmetric-routing.metallbFieldVersions" -}}
{{- /* metallb_fields.py: start */}}
{"BGPAdvertisement": {"asPathPrepend": "0.16.2", "serviceSelectors": "0.16"}, "BGPPeer": {"localASN": "0.16"}}
{{- /* metallb_fields.py: end */}}
{{- end }}

{{/*
symmetric-routing.validate.versions: the fields the configured MetalLB does not have, as a
JSON list of messages. An API server prunes a field its CRD lacks without a word (apiextensions
structural pruning), so a hand-set serviceSelectors or localASN would be lost on an older
MetalLB. Takes the context of templates/validate/values.yaml (root, v, fullname, vrfs, ...).
*/}}
{{- define "symmetric-routing.validate.versions" -}}
{{- $errors := list }}
{{- $version := .v.metallb.version | default "" | toString | trimPrefix "v" }}
{{- $table := include "symmetric-routing.metallbFieldVersions" . | fromJson }}
{{- /* the items are kept in a dict, its keys sorting as the values do (NUL below any
     character): sprig's append copies the whole list on each call, quadratic at 2,000 items */}}
{{- if $version }}
{{- $items := dict }}
{{- range $key, $profile := (.v.bfdProfiles | default dict) }}
{{- $_ := set $items (printf "0\x00%s" $key) (dict "kind" "BFDProfile" "at" (printf "bfdProfiles.%s" $key) "item" $profile) }}
{{- end }}
{{- range $vrfName, $vrf := .vrfs }}
{{- range $field, $kind := dict "bgpPeers" "BGPPeer" "bgpAdvertisements" "BGPAdvertisement" "addressPools" "IPAddressPool" }}
{{- range $key, $item := (get $vrf $field | default dict) }}
{{- $_ := set $items (printf "1\x00%s\x00%s\x00%s" $vrfName $field $key) (dict "kind" $kind "at" (printf "vrfs.%s.%s.%s" $vrfName $field $key) "item" $item) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* which fields the version lacks, asked once per field rather than per item */}}
{{- $missing := dict }}
{{- range $kind, $fields := $table }}
{{- $_ := set $missing $kind dict }}
{{- range $name, $added := $fields }}
{{- if not (semverCompare (printf ">=%s-0" $added) $version) }}
{{- $_ := set (get $missing $kind) $name $added }}
{{- end }}
{{- end }}
{{- end }}
{{- range $_, $entry := $items }}
{{- range $name, $added := (get $missing $entry.kind | default dict) }}
{{- if and (kindIs "map" $entry.item) (hasKey $entry.item $name) }}
{{- $errors = append $errors (printf "%s.%s: MetalLB added %s.spec.%s in %s; metallb.version is %s, whose API server drops the field without a word. Set metallb.version to the cluster's MetalLB if it is %s or later, else remove the field" $entry.at $name $entry.kind $name $added $version $added) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $errors }}
{{- end }}
