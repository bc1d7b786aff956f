{{/*
symmetric-routing.validate.bgp: each VRF's BGP peers and the release's community aliases,
as a JSON list of messages. MetalLB's controller parses them in metallb/metallb
internal/config/config.go (peerFromCR, parseTimers) and checks the peers that share a
node in internal/config/validation.go (peersCanRunOnSameNode); a parse error there stops
the whole configuration, every tenant's. Takes the context of
templates/validate/values.yaml (root, v, fullname, vrfs).
*/}}
{{- define "symmetric-routing.validate.bgp" -}}
{{- $errors := list }}
{{- $v := .v }}
{{- $bfdProfiles := $v.bfdProfiles | default dict }}
{{- range $vrfName, $vrf := .vrfs }}
{{- $at := printf "vrfs.%s" $vrfName }}
{{- $ports := $vrf.ports | default dict }}
{{- $peers := $vrf.bgpPeers | default dict }}
{{- range $key, $peer := $peers }}
{{- $peerAt := printf "%s.bgpPeers.%s" $at $key }}
{{- /* config.go peerFromCR: "missing local ASN" */}}
{{- if not (or (hasKey $peer "myASN") (hasKey $vrf "myASN")) }}
{{- $errors = append $errors (printf "%s.myASN: no local ASN; set myASN on the peer or on %s" $peerAt $at) }}
{{- end }}
{{- /* config.go peerFromCR: "missing peer ASN and dynamicASN", "both ... specified" */}}
{{- if eq (hasKey $peer "peerASN") (hasKey $peer "dynamicASN") }}
{{- $errors = append $errors (printf "%s: set exactly one of peerASN (the peer's AS number) and dynamicASN (internal or external)" $peerAt) }}
{{- end }}
{{- /* config.go peerFromCR: "peer has no Address or Interface", "both Address and Interface" */}}
{{- if eq (hasKey $peer "peerAddress") (hasKey $peer "interface") }}
{{- $errors = append $errors (printf "%s: set exactly one of peerAddress (numbered BGP) and interface (unnumbered BGP over a port)" $peerAt) }}
{{- end }}
{{- if and $peer.interface (not (hasKey $ports $peer.interface)) }}
{{- $errors = append $errors (printf "%s.interface: %s is not a port of %s; unnumbered BGP runs over one of: %s" $peerAt $peer.interface $vrfName (keys $ports | sortAlpha | join ", ")) }}
{{- end }}
{{- /* config.go peerFromCR: "can not have both password and secret ref set" */}}
{{- if gt (len (compact (list ($peer.password | default "") ($peer.passwordSecret | default "" | toString | ne "" | ternary "x" "") ($peer.secretPassword | default "")))) 1 }}
{{- $errors = append $errors (printf "%s: set at most one of password, passwordSecret and secretPassword" $peerAt) }}
{{- end }}
{{- /* config.go peersFor: "peer ... referencing non existing bfd profile" */}}
{{- if and $peer.bfdProfile (not (hasKey $bfdProfiles $peer.bfdProfile)) }}
{{- $errors = append $errors (printf "%s.bfdProfile: %q is not a key of bfdProfiles; add bfdProfiles.%s or use one of: %s" $peerAt $peer.bfdProfile $peer.bfdProfile (keys $bfdProfiles | sortAlpha | join ", " | default "(none defined)")) }}
{{- end }}
{{- /* config.go parseTimers */}}
{{- $holdMs := 90000 }}
{{- if $peer.holdTime }}
{{- $holdMs = include "symmetric-routing.durationMs" $peer.holdTime | int64 }}
{{- if and (gt $holdMs 0) (lt $holdMs 3000) }}
{{- $errors = append $errors (printf "%s.holdTime: %s is below 3s; BGP allows 0 or at least 3s" $peerAt $peer.holdTime) }}
{{- end }}
{{- end }}
{{- if $peer.keepaliveTime }}
{{- if ge (include "symmetric-routing.durationMs" $peer.keepaliveTime | int64) $holdMs }}
{{- $errors = append $errors (printf "%s.keepaliveTime: %s must be below the hold time (%s); usually a third of it" $peerAt $peer.keepaliveTime ($peer.holdTime | default "90s, the default")) }}
{{- end }}
{{- end }}
{{- /* validation.go peersCanRunOnSameNode: one myASN per VRF on a node */}}
{{- range $otherKey, $other := $peers }}
{{- if lt $key $otherKey }}
{{- $myASN := hasKey $peer "myASN" | ternary $peer.myASN $vrf.myASN }}
{{- $otherASN := hasKey $other "myASN" | ternary $other.myASN $vrf.myASN }}
{{- if and $myASN $otherASN (ne (int64 $myASN) (int64 $otherASN)) (ne (include "symmetric-routing.selectorsDisjoint" (dict "a" $peer.nodeSelectors "b" $other.nodeSelectors)) "true") }}
{{- $errors = append $errors (printf "%s.myASN: %d differs from %d of %s.bgpPeers.%s, and both peers can run on one node; MetalLB needs one local ASN per VRF and node: use the same myASN, or nodeSelectors that keep them apart" $peerAt (int64 $myASN) (int64 $otherASN) $at $otherKey) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- /* internal/bgp/community/community.go New: "1234:5678" or "large:1:2:3" */}}
{{- $aliases := $v.communities.aliases | default dict }}
{{- range $key := keys $aliases }}
{{- if not (regexMatch "^([0-9]+:[0-9]+|large:[0-9]+:[0-9]+:[0-9]+)$" (get $aliases $key | toString)) }}
{{- $errors = append $errors (printf "communities.aliases.%s: %q is not a community value; use 1234:5678 or large:1:2:3" $key (get $aliases $key | toString)) }}
{{- end }}
{{- end }}
{{- toJson $errors }}
{{- end }}
