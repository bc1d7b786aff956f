{{/*
symmetric-routing.validate.pools: each VRF's address pools and BGP advertisements, as a
JSON list of messages. MetalLB parses them in metallb/metallb internal/config/config.go
(bgpAdvertisementFromCR, validateBGPAdvPerPool). Takes the context of
templates/validate/values.yaml (root, v, fullname, vrfs, addresses, blocks).
*/}}
{{- define "symmetric-routing.validate.pools" -}}
{{- $errors := list }}
{{- $cluster := .v.cluster | default dict }}
{{- /* Pools that overlap each other, and pools that hold a port's address, found in one sweep
over every block sorted by its first address (equal-length bit strings of one family sort
as the numbers do), instead of comparing every pair of the release */}}
{{- $blocks := dict }}
{{- range $vrfName, $vrf := .vrfs }}
{{- range $portName, $port := get $.addresses $vrfName }}
{{- range $address := concat ($port.ipv4 | default list) ($port.ipv6 | default list) | uniq }}
{{- $known := get $.blocks $address }}
{{- $host := dict "family" $known.family "first" $known.address "last" $known.address }}
{{- $_ := set $blocks (printf "%v|%s|1|%06d" $host.family $host.first (len $blocks)) (dict "block" $host "at" (printf "vrfs.%s.ports.%s" $vrfName $portName) "address" $address) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* each pool address's block, made once (into the blocks of the context) for the passes below */}}
{{- range $vrfName, $vrf := .vrfs }}
{{- range $key, $pool := ($vrf.addressPools | default dict) }}
{{- include "symmetric-routing.ipBlocks" (dict "blocks" $.blocks "addresses" ($pool.addresses | default list)) }}
{{- range $i, $address := ($pool.addresses | default list) }}
{{- $block := get $.blocks $address }}
{{- if le $block.first $block.last }}
{{- $_ := set $blocks (printf "%v|%s|0|%06d" $block.family $block.first (len $blocks)) (dict "block" $block "pool" true "at" (printf "vrfs.%s.addressPools.%s.addresses[%d]" $vrfName $key $i) "address" $address) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- $widest := dict }}
{{- range $sortKey := keys $blocks | sortAlpha }}
{{- $entry := get $blocks $sortKey }}
{{- $family := toString $entry.block.family }}
{{- $open := get $widest $family }}
{{- if and $open (le $entry.block.first $open.block.last) }}
{{- if $entry.pool }}
{{- /* config.go poolsFor: "CIDR ... overlaps with already defined CIDR" (all pools) */}}
{{- $errors = append $errors (printf "%s: %s overlaps %s of %s, which MetalLB refuses; make the pools disjoint" $entry.at $entry.address $open.address $open.at) }}
{{- else }}
{{- /* a node's own address would be handed to a Service */}}
{{- $errors = append $errors (printf "%s: %s holds %s, the address of %s; MetalLB would hand it to a Service: keep port addresses out of the pools" $open.at $open.address $entry.address $entry.at) }}
{{- end }}
{{- end }}
{{- if and $entry.pool (or (not $open) (gt $entry.block.last $open.block.last)) }}
{{- $_ := set $widest $family $entry }}
{{- end }}
{{- end }}
{{- /* the cluster's ranges, as blocks once rather than once per pool address */}}
{{- $clusterBlocks := list }}
{{- range $field := list "serviceNetwork" "clusterNetwork" "masqueradeSubnet" }}
{{- range $cidr := (get $cluster $field | default list) }}
{{- $clusterBlocks = append $clusterBlocks (dict "field" $field "cidr" $cidr "block" (include "symmetric-routing.ipBlock" $cidr | fromJson)) }}
{{- end }}
{{- end }}
{{- range $vrfName, $vrf := .vrfs }}
{{- $families := (get $.families $vrfName).any }}
{{- range $key, $pool := ($vrf.addressPools | default dict) }}
{{- range $i, $address := ($pool.addresses | default list) }}
{{- $addressAt := printf "vrfs.%s.addressPools.%s.addresses[%d]" $vrfName $key $i }}
{{- $block := get $.blocks $address }}
{{- $family := toString $block.family }}
{{- /* config.go parseCIDR: "start IP is after the end IP" */}}
{{- if gt $block.first $block.last }}
{{- $errors = append $errors (printf "%s: range %s starts after its end; write it low-high" $addressAt $address) }}
{{- else }}
{{- /* the cluster's own ranges stay the cluster's: the route rules send them to the main table */}}
{{- range $clusterBlocks }}
{{- /* symmetric-routing.blocksOverlap, written out: it runs per pool address and range */}}
{{- if and (eq $family (toString .block.family)) (le $block.first .block.last) (le .block.first $block.last) }}
{{- $errors = append $errors (printf "%s: %s overlaps cluster.%s %s, whose traffic never enters the VRF; pick addresses outside the cluster's ranges" $addressAt $address .field .cidr) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* the VRF announces and answers only through its ports */}}
{{- if and $vrf.ports (not (hasKey $families $family)) }}
{{- $errors = append $errors (printf "%s: %s is IPv%s, and no port of vrfs.%s has an IPv%s address to announce and answer it through; add one, or move the pool" $addressAt $address $family $vrfName $family) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- $aliases := .v.communities.aliases | default dict }}
{{- $bfdProfiles := .v.bfdProfiles | default dict }}
{{- range $vrfName, $vrf := .vrfs }}
{{- $at := printf "vrfs.%s" $vrfName }}
{{- $peers := $vrf.bgpPeers | default dict }}
{{- $pools := $vrf.addressPools | default dict }}
{{- $advertisements := $vrf.bgpAdvertisements | default dict }}
{{- $advertisedPools := dict }}
{{- /* each advertisement's pools (symmetric-routing.advertisedPools), once for the rules below */}}
{{- $poolsOf := dict }}
{{- range $key, $adv := $advertisements }}
{{- $_ := set $poolsOf $key (include "symmetric-routing.advertisedPools" (dict "adv" $adv "vrf" $vrf) | fromJsonArray) }}
{{- end }}
{{- range $key, $adv := $advertisements }}
{{- $advAt := printf "%s.bgpAdvertisements.%s" $at $key }}
{{- range ($adv.ipAddressPools | default list) }}
{{- if not (hasKey $pools .) }}
{{- $errors = append $errors (printf "%s.ipAddressPools: %q is not a pool of %s; use one of: %s" $advAt . $vrfName (keys $pools | sortAlpha | join ", " | default "(none defined)")) }}
{{- end }}
{{- end }}
{{- range get $poolsOf $key }}
{{- $_ := set $advertisedPools . true }}
{{- end }}
{{- if and (empty $adv.ipAddressPoolSelectors) (empty $pools) }}
{{- $errors = append $errors (printf "%s: %s has no addressPools to advertise; add one or set ipAddressPoolSelectors" $advAt $vrfName) }}
{{- end }}
{{- /* _advertisements.tpl narrows each selector to this VRF's pools by these labels; one
that names other values selects pools of another VRF or release, which MetalLB would announce
to this VRF's peers (config.go setBGPAdvertisementsToPools matches every pool of the cluster) */}}
{{- $scope := include "symmetric-routing.vrfPoolLabels" (dict "root" $.root "vrfName" $vrfName) | fromJson }}
{{- range $i, $selector := ($adv.ipAddressPoolSelectors | default list) }}
{{- range $label, $value := ($selector.matchLabels | default dict) }}
{{- if and (hasKey $scope $label) (ne (toString $value) (get $scope $label)) }}
{{- $errors = append $errors (printf "%s.ipAddressPoolSelectors[%d].matchLabels: %s=%s selects pools outside %s (MetalLB matches the selector against every IPAddressPool of the cluster), which this VRF's peers would announce; list those pools in their own VRF's advertisements, and here only this VRF's (the chart narrows each selector to %s=%s)" $advAt $i $label (toString $value) $at $label (get $scope $label)) }}
{{- end }}
{{- end }}
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
{{- else }}
{{- with include "symmetric-routing.communityRange" . }}
{{- $errors = append $errors (printf "%s.communities: %s" $advAt .) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* speaker/bgp_controller.go refuses more than 63 communities per advertisement when it
sets a session's routes (internal/bgp/frr/frr.go, frrk8s/frrk8s.go: "max supported
communities is 63"), and stops there: peers after it in its loop, other tenants' too, keep
stale routes (MetalLB v0.16.1) */}}
{{- $communities := dict }}
{{- range ($adv.communities | default list) }}
{{- $_ := set $communities (hasKey $aliases . | ternary (get $aliases . | toString) (toString .)) true }}
{{- end }}
{{- if gt (len $communities) 63 }}
{{- $errors = append $errors (printf "%s.communities: %d communities (aliases resolved), and MetalLB's speaker refuses more than 63 on one advertisement, which also stops the updates of other peers on the node; split them over two advertisements" $advAt (len $communities)) }}
{{- end }}
{{- /* the families its peers carry: a numbered peer carries its address's family, unless
dualStackAddressFamily or interface makes it carry both; MetalLB skips the other family's
prefixes for it (internal/bgp/frr/frr.go, internal/bgp/frrk8s/frrk8s.go, v0.16.1) */}}
{{- $advPeers := include "symmetric-routing.advertisedPeers" (dict "adv" $adv "vrf" $vrf) | fromJsonArray }}
{{- $carried := dict }}
{{- $ebgpOnly := true }}
{{- $peersKnown := true }}
{{- range $peerKey := $advPeers }}
{{- $peer := get $peers $peerKey | default dict }}
{{- if not (hasKey $peers $peerKey) }}
{{- $peersKnown = false }}
{{- else if or $peer.interface $peer.dualStackAddressFamily }}
{{- $_ := set $carried "4" true }}
{{- $_ := set $carried "6" true }}
{{- else if $peer.peerAddress }}
{{- $_ := set $carried (contains ":" (toString $peer.peerAddress) | ternary "6" "4") true }}
{{- end }}
{{- if ne (include "symmetric-routing.peerIsEBGP" (dict "peer" $peer "vrf" $vrf)) "true" }}
{{- $ebgpOnly = false }}
{{- end }}
{{- end }}
{{- if and $advPeers $peersKnown }}
{{- range $poolKey := get $poolsOf $key }}
{{- $families := dict }}
{{- range ((get $pools $poolKey | default dict).addresses | default list) }}
{{- $_ := set $families (contains ":" . | ternary "6" "4") true }}
{{- end }}
{{- range $family := keys $families | sortAlpha }}
{{- if not (hasKey $carried $family) }}
{{- $errors = append $errors (printf "%s: pool %s has IPv%s addresses, and none of the peers it goes to (%s) carries IPv%s: MetalLB announces a prefix only to peers of its family, so they would never be announced; add an IPv%s peer, or set dualStackAddressFamily: true on one of them" $advAt $poolKey $family (join ", " $advPeers) $family $family) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* BGP sends LOCAL_PREF to iBGP peers only (FRR 10.4.3 bgpd/bgp_attr.c
bgp_packet_attribute; MetalLB config.go BGPAdvertisement.LocalPref: "Used only when
advertising to IBGP peers") */}}
{{- if and $adv.localPref $ebgpOnly }}
{{- $errors = append $errors (printf "%s.localPref: %d, but every peer it goes to (%s) is eBGP, and BGP sends LOCAL_PREF to iBGP peers only, so it would have no effect; drop it, or set a community the peers map to a preference" $advAt (int64 $adv.localPref) (join ", " $advPeers)) }}
{{- end }}
{{- end }}
{{- /* config.go validateBGPAdvPerPool: the aggregation length is no shorter than the
prefix of a pool's CIDR (ranges are left to MetalLB). On a range, the speaker announces each
Service address masked to it (speaker/bgp_controller.go, v0.16.1), so a range that does not
start and end on its boundaries announces addresses beyond the pool; where another pool of
the release holds them, its traffic would be routed into this VRF (other releases' pools
are the preflight's pool-overlaps check) */}}
{{- range $poolKey := get $poolsOf $key }}
{{- range $address := ((get $pools $poolKey | default dict).addresses | default list) }}
{{- $block := get $.blocks $address }}
{{- $field := ternary "aggregationLengthV6" "aggregationLength" (contains ":" $address) }}
{{- if and (hasKey $adv $field) (le $block.first $block.last) }}
{{- /* a CIDR's own prefix; a range's shortest, over the CIDRs it splits into */}}
{{- $prefix := contains "-" $address | ternary (include "symmetric-routing.rangeLowestMask" $block | int64) (int64 $block.prefix) }}
{{- $length := int64 (get $adv $field) }}
{{- if lt $length $prefix }}
{{- $errors = append $errors (printf "%s.%s: %d is shorter than the /%d of %s in pool %s, which MetalLB refuses; set it to %d or more" $advAt $field $length $prefix $address $poolKey $prefix) }}
{{- else if contains "-" $address }}
{{- $bits := len $block.first }}
{{- $low := printf "%s%s" (substr 0 (int $length) $block.first) (repeat (sub $bits $length | int) "0") }}
{{- $high := printf "%s%s" (substr 0 (int $length) $block.last) (repeat (sub $bits $length | int) "1") }}
{{- if or (lt $low $block.first) (gt $high $block.last) }}
{{- $own := printf "vrfs.%s.addressPools.%s.addresses" $vrfName $poolKey }}
{{- range $blocks }}
{{- if and .pool (not (hasPrefix $own .at)) (eq (toString .block.family) (toString $block.family)) (le .block.first $high) (ge .block.last $low) }}
{{- $errors = append $errors (printf "%s.%s: %d on the range %s of pool %s announces /%d prefixes that reach beyond the range, over %s (%s), whose traffic would then come into %s; start and end the range on /%d boundaries, or use a longer length" $advAt $field $length $address $poolKey $length .address .at $vrfName $length) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- /* config.go bgpAdvertisementFromCR and the BGPAdvertisement CRD's CEL rule:
serviceSelectors only with the default aggregation lengths, 32 and 128 */}}
{{- if and $adv.serviceSelectors (or (and (hasKey $adv "aggregationLength") (ne (int64 $adv.aggregationLength) 32)) (and (hasKey $adv "aggregationLengthV6") (ne (int64 $adv.aggregationLengthV6) 128))) }}
{{- $errors = append $errors (printf "%s: serviceSelectors cannot go with aggregationLength other than 32 or aggregationLengthV6 other than 128 (MetalLB selects services only for /32 and /128 announcements); drop one" $advAt) }}
{{- end }}
{{- end }}
{{- /* the same rule on what the chart renders: an entry split per LoadBalancerIP service
narrows each part with serviceSelectors (symmetric-routing.advertisements), so its
aggregation lengths must be the defaults too. Asked only when every pool and peer the
entries name exists: the split reads them. */}}
{{- $dangling := false }}
{{- range $advertisements }}
{{- range (.ipAddressPools | default list) }}{{ if not (hasKey $pools .) }}{{ $dangling = true }}{{ end }}{{ end }}
{{- range (.peers | default list) }}{{ if not (hasKey $peers .) }}{{ $dangling = true }}{{ end }}{{ end }}
{{- end }}
{{- if not $dangling }}
{{- $split := dict }}
{{- include "symmetric-routing.vrfAdvertisements" (dict "root" $.root "vrfName" $vrfName "vrf" $vrf "prefix" $.fullname) }}
{{- range get $.root.symmetricRoutingAdvertisements $vrfName }}
{{- if .service }}
{{- $_ := set $split .entry (append (get $split .entry | default list) .service) }}
{{- end }}
{{- end }}
{{- range $key, $services := $split }}
{{- $adv := get $advertisements $key }}
{{- range $field, $default := dict "aggregationLength" 32 "aggregationLengthV6" 128 }}
{{- if and (hasKey $adv $field) (ne (int64 (get $adv $field)) (int64 $default)) }}
{{- $errors = append $errors (printf "%s.bgpAdvertisements.%s.%s: %d, but the chart narrows this advertisement per LoadBalancerIP service (%s) with serviceSelectors, which MetalLB accepts only with %d (config.go bgpAdvertisementFromCR, the CRD's CEL rule); leave %s out, or give the pools that need it an advertisement of their own" $at $key $field (int64 (get $adv $field)) (join ", " $services) (int64 $default) $field) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- $usesPoolSelectors := false }}
{{- range $advertisements }}
{{- if .ipAddressPoolSelectors }}
{{- $usesPoolSelectors = true }}
{{- end }}
{{- end }}
{{- /* config.go validateBGPAdvPerPool, BGPAdvertisementsHaveCompatibleLocalPref,
isAggrLengthDifferent: two advertisements of a pool to a common peer on common nodes with
the same aggregation length must agree on localPref (service selectors exempt) */}}
{{- range $keyA, $a := $advertisements }}
{{- range $keyB, $b := $advertisements }}
{{- if and (lt $keyA $keyB) (not $a.serviceSelectors) (not $b.serviceSelectors) (ne (int64 ($a.localPref | default 0)) (int64 ($b.localPref | default 0))) }}
{{- $poolsA := get $poolsOf $keyA }}
{{- $poolsB := get $poolsOf $keyB }}
{{- $peersA := include "symmetric-routing.advertisedPeers" (dict "adv" $a "vrf" $vrf) | fromJsonArray }}
{{- $peersB := include "symmetric-routing.advertisedPeers" (dict "adv" $b "vrf" $vrf) | fromJsonArray }}
{{- $sameV4 := eq (int64 ($a.aggregationLength | default 32)) (int64 ($b.aggregationLength | default 32)) }}
{{- $sameV6 := eq (int64 ($a.aggregationLengthV6 | default 128)) (int64 ($b.aggregationLengthV6 | default 128)) }}
{{- $sharedPeers := false }}
{{- range $peersA }}
{{- if has . $peersB }}
{{- $sharedPeers = true }}
{{- end }}
{{- end }}
{{- $sharedNodes := ne (include "symmetric-routing.selectorsDisjoint" (dict "a" $a.nodeSelectors "b" $b.nodeSelectors)) "true" }}
{{- range $poolKey := $poolsA }}
{{- if and (has $poolKey $poolsB) (hasKey $pools $poolKey) $sharedPeers $sharedNodes }}
{{- $addresses := (get $pools $poolKey).addresses | default list | join "," }}
{{- $hasV6 := contains ":" $addresses }}
{{- $hasV4 := regexMatch "(^|,)[0-9]+[.]" $addresses }}
{{- $lengthsDiffer := or (and (not $sameV4) (not $hasV6)) (and (not $sameV6) (not $hasV4)) (and (not $sameV4) (not $sameV6)) }}
{{- if not $lengthsDiffer }}
{{- $errors = append $errors (printf "%s.bgpAdvertisements.%s.localPref: %d differs from %d of bgpAdvertisements.%s, which announces pool %s to the same peers and nodes with the same aggregation length; MetalLB refuses it: use one localPref, or split peers, nodeSelectors or aggregation lengths" $at $keyA (int64 ($a.localPref | default 0)) (int64 ($b.localPref | default 0)) $keyB $poolKey) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- /* config.go validateConfig: no BFD echo mode towards a peer that gets an IPv6 pool */}}
{{- range $key, $adv := $advertisements }}
{{- range $poolKey := get $poolsOf $key }}
{{- if contains ":" ((get $pools $poolKey | default dict).addresses | default list | join ",") }}
{{- range $peerKey := include "symmetric-routing.advertisedPeers" (dict "adv" $adv "vrf" $vrf) | fromJsonArray }}
{{- $profile := get $bfdProfiles ((get $peers $peerKey | default dict).bfdProfile | default "") | default dict }}
{{- if $profile.echoMode }}
{{- $errors = append $errors (printf "%s.bgpPeers.%s.bfdProfile: %s has echoMode, and bgpAdvertisements.%s announces the IPv6 pool %s to this peer, which MetalLB refuses (BFD echo is IPv4 only); turn echoMode off, or use a profile without it" $at $peerKey $peerKey $key $poolKey) }}
{{- end }}
{{- end }}
{{- end }}
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

{{/*
symmetric-routing.communityRange: for a community value of the right form, "" when its parts
fit, else what is wrong: the parts of a standard community are uint16, those of a large one
uint32 (metallb internal/bgp/community/community.go New).
*/}}
{{- define "symmetric-routing.communityRange" -}}
{{- $large := hasPrefix "large:" . }}
{{- $max := ternary 4294967295 65535 $large }}
{{- $bad := list }}
{{- range splitList ":" (trimPrefix "large:" .) }}
{{- if gt (float64 .) (float64 $max) }}
{{- $bad = append $bad . }}
{{- end }}
{{- end }}
{{- with $bad }}
{{- printf "%q has %s above %d, the largest part of a %s community; use parts from 0 to %d" $ (join ", " .) $max (ternary "large" "standard" $large) $max }}
{{- end }}
{{- end }}
