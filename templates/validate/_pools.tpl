{{/*
symmetric-routing.validate.pools: each VRF's address pools and BGP advertisements, as a
JSON list of messages. MetalLB parses them in metallb/metallb internal/config/config.go
(bgpAdvertisementFromCR, validateBGPAdvPerPool). Takes the context of
templates/validate/values.yaml (root, v, fullname, vrfs).
*/}}
{{- define "symmetric-routing.validate.pools" -}}
{{- $errors := list }}
{{- $aliases := .v.communities.aliases | default dict }}
{{- range $vrfName, $vrf := .vrfs }}
{{- $at := printf "vrfs.%s" $vrfName }}
{{- $peers := $vrf.bgpPeers | default dict }}
{{- $pools := $vrf.addressPools | default dict }}
{{- $advertisements := $vrf.bgpAdvertisements | default dict }}
{{- $advertisedPools := dict }}
{{- range $key, $adv := $advertisements }}
{{- $advAt := printf "%s.bgpAdvertisements.%s" $at $key }}
{{- range ($adv.ipAddressPools | default list) }}
{{- if not (hasKey $pools .) }}
{{- $errors = append $errors (printf "%s.ipAddressPools: %q is not a pool of %s; use one of: %s" $advAt . $vrfName (keys $pools | sortAlpha | join ", " | default "(none defined)")) }}
{{- end }}
{{- end }}
{{- range (include "symmetric-routing.advertisedPools" (dict "adv" $adv "vrf" $vrf) | fromJsonArray) }}
{{- $_ := set $advertisedPools . true }}
{{- end }}
{{- if and (empty $adv.ipAddressPoolSelectors) (empty $pools) }}
{{- $errors = append $errors (printf "%s: %s has no addressPools to advertise; add one or set ipAddressPoolSelectors" $advAt $vrfName) }}
{{- end }}
{{- /* an advertisement without peers goes to every peer: config.go BGPAdvertisement.Peers */}}
{{- if empty $peers }}
{{- $errors = append $errors (printf "%s: %s has no bgpPeers; an advertisement without peers would reach every peer in the cluster, other tenants' too" $advAt $vrfName) }}
{{- end }}
{{- range ($adv.peers | default list) }}
{{- if not (hasKey $peers .) }}
{{- $errors = append $errors (printf "%s.peers: %q is not a peer of %s; use one of: %s" $advAt . $vrfName (keys $peers | sortAlpha | join ", " | default "(none defined)")) }}
{{- end }}
{{- end }}
{{- /* config.go getCommunityValue: a community value, else the name of a Community alias */}}
{{- range ($adv.communities | default list) }}
{{- if and (not (regexMatch "^([0-9]+:[0-9]+|large:[0-9]+:[0-9]+:[0-9]+)$" .)) (not (hasKey $aliases .)) }}
{{- $errors = append $errors (printf "%s.communities: %q is neither a community value (1234:5678, large:1:2:3) nor a key of communities.aliases" $advAt .) }}
{{- end }}
{{- end }}
{{- /* config.go bgpAdvertisementFromCR and the BGPAdvertisement CRD's CEL rule:
serviceSelectors only with the default aggregation lengths, 32 and 128 */}}
{{- if and $adv.serviceSelectors (or (and (hasKey $adv "aggregationLength") (ne (int64 $adv.aggregationLength) 32)) (and (hasKey $adv "aggregationLengthV6") (ne (int64 $adv.aggregationLengthV6) 128))) }}
{{- $errors = append $errors (printf "%s: serviceSelectors cannot go with aggregationLength other than 32 or aggregationLengthV6 other than 128 (MetalLB selects services only for /32 and /128 announcements); drop one" $advAt) }}
{{- end }}
{{- end }}
{{- $usesPoolSelectors := false }}
{{- range $advertisements }}
{{- if .ipAddressPoolSelectors }}
{{- $usesPoolSelectors = true }}
{{- end }}
{{- end }}
{{- if not $usesPoolSelectors }}
{{- range $key := keys $pools | sortAlpha }}
{{- if not (hasKey $advertisedPools $key) }}
{{- $errors = append $errors (printf "%s.addressPools.%s: no bgpAdvertisement of %s advertises it, so its addresses would be unreachable; add it to an advertisement's ipAddressPools, or add `bgpAdvertisements: {%s: {}}` (pools and peers default to the VRF's)" $at $key $vrfName $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $errors }}
{{- end }}
