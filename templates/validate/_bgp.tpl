{{/*
symmetric-routing.validate.bgp: each VRF's BGP peers and the release's community aliases,
as a JSON list of messages. MetalLB's controller parses them in metallb/metallb
internal/config/config.go (peerFromCR, parseTimers) and checks the peers that share a
node in internal/config/validation.go (peersCanRunOnSameNode); a parse error there stops
the whole configuration, every tenant's. Takes the context of
templates/validate/values.yaml (root, v, fullname, vrfs, addresses, blocks).
*/}}
{{- define "symmetric-routing.validate.bgp" -}}
{{- $errors := list }}
{{- $v := .v }}
{{- $bfdProfiles := $v.bfdProfiles | default dict }}
{{- $vrfs := .vrfs }}
{{- /* every peer, keyed by its position ("%06d"): a list would be copied at each append */}}
{{- $allPeers := dict }}
{{- /* the release's BGPPeers as the cluster stores them, read at upgrade only (Helm's lookup
reaches the cluster there, not under helm template): enableGracefulRestart is immutable */}}
{{- $stored := dict }}
{{- if and .root.Release.IsUpgrade (.root.Capabilities.APIVersions.Has "metallb.io/v1beta2/BGPPeer") }}
{{- range (lookup "metallb.io/v1beta2" "BGPPeer" $v.metallb.namespace "").items | default list }}
{{- $_ := set $stored .metadata.name .spec }}
{{- end }}
{{- end }}
{{- range $vrfName, $vrf := $vrfs }}
{{- $at := printf "vrfs.%s" $vrfName }}
{{- $ports := $vrf.ports | default dict }}
{{- $peers := $vrf.bgpPeers | default dict }}
{{- /* the subnets a numbered peer may be on (rule below): each once, the nodes of a table
mostly share theirs; made once per VRF, for all its peers */}}
{{- $subnets := dict }}
{{- /* the subnets of the ports themselves, by the same key: a peer there is directly connected */}}
{{- $connected := dict }}
{{- /* the ports' own addresses (ipBits -> the address as written), for sourceAddress */}}
{{- $hosts := dict }}
{{- range get $.addresses $vrfName | values }}
{{- range concat (.ipv4 | default list) (.ipv6 | default list) }}
{{- $block := get $.blocks . }}
{{- $_ := set $subnets (printf "%s|%s" $block.first $block.last) $block }}
{{- $_ := set $connected (printf "%s|%s" $block.first $block.last) true }}
{{- $_ := set $hosts (toString $block.address) (split "/" .)._0 }}
{{- end }}
{{- end }}
{{- range $vrf.routes | default list }}
{{- include "symmetric-routing.ipBlocks" (dict "blocks" $.blocks "addresses" (list .destination)) }}
{{- $block := get $.blocks .destination }}
{{- $_ := set $subnets (printf "%s|%s" $block.first $block.last) $block }}
{{- end }}
{{- /* FRR takes a VRF's router-id from the IPv4 addresses in that VRF only, and with none
(0.0.0.0) opens no session: "BGP identifier is missing" (FRR 10.4 zebra/router-id.c,
bgpd/bgp_network.c); MetalLB writes bgp router-id only from routerID (internal/bgp/frr/
templates/frr.tmpl, v0.16.1) */}}
{{- $families := get $.families $vrfName }}
{{- $hasIPv4 := or (hasKey $families.any "4") (not (empty ((($vrf.policy | default dict).extraInterfaces) | default list))) }}
{{- /* a port addressed by DHCP or autoconf has subnets the values do not say */}}
{{- $dynamic := not (empty $families.dynamic) }}
{{- range $key, $peer := $peers }}
{{- $peerAt := printf "%s.bgpPeers.%s" $at $key }}
{{- if and (not $hasIPv4) (not $peer.routerID) }}
{{- $errors = append $errors (printf "%s.routerID: %s has no IPv4 address on any port, where FRR takes the VRF's router ID from, so the session would never open (router ID 0.0.0.0); set routerID to an IPv4 address (MetalLB wants the same routerID on every peer that can share a node), or give a port an IPv4 address" $peerAt $vrfName) }}
{{- end }}
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
{{- if and $peer.password $peer.passwordSecret }}
{{- $errors = append $errors (printf "%s: set at most one of password (the chart stores it in a Secret) and passwordSecret (a Secret of your own)" $peerAt) }}
{{- end }}
{{- /* config.go peersFor: "peer ... referencing non existing bfd profile" */}}
{{- if and $peer.bfdProfile (not (hasKey $bfdProfiles $peer.bfdProfile)) }}
{{- $errors = append $errors (printf "%s.bfdProfile: %q is not a key of bfdProfiles; add bfdProfiles.%s or use one of: %s" $peerAt $peer.bfdProfile $peer.bfdProfile (keys $bfdProfiles | sortAlpha | join ", " | default "(none defined)")) }}
{{- end }}
{{- /* config.go parseTimers: an unset hold time is 3 keepalives, an unset keepalive a third
of the hold time; the hold time in whole seconds is 0 or at least 3; keepalive <= hold */}}
{{- with include "symmetric-routing.peerTimers" $peer | fromJson }}
{{- $kaMs := int64 .keepaliveMs }}
{{- $holdMs := int64 .holdMs }}
{{- $holdS := div $holdMs 1000 }}
{{- if and (gt $holdS 0) (lt $holdS 3) }}
{{- $field := ternary "holdTime" "keepaliveTime" (not (empty $peer.holdTime)) }}
{{- $errors = append $errors (printf "%s.%s: %s gives a hold time of %dms, below 3s; BGP allows a hold time of 0 or at least 3s (an unset hold time is 3 keepalives)" $peerAt $field (get $peer $field) $holdMs) }}
{{- else if and $peer.keepaliveTime $peer.holdTime (gt $kaMs $holdMs) }}
{{- $errors = append $errors (printf "%s.keepaliveTime: %s is above the hold time (%s); set it at most the hold time, usually a third of it" $peerAt $peer.keepaliveTime $peer.holdTime) }}
{{- end }}
{{- end }}
{{- /* the BGPPeer CRD's CEL rule on enableGracefulRestart, self == oldSelf (metallb v0.16.1
api/v1beta2/bgppeer_types.go): a stored value cannot change, and the API server would refuse
the upgrade halfway through, after other objects changed */}}
{{- with $stored }}
{{- $old := get . (include "symmetric-routing.objectName" (dict "prefix" $.fullname "vrf" $vrfName "key" $key "item" $peer)) }}
{{- if and $old (hasKey $old "enableGracefulRestart") (hasKey $peer "enableGracefulRestart") (ne (toString $old.enableGracefulRestart) (toString $peer.enableGracefulRestart)) }}
{{- $errors = append $errors (printf "%s.enableGracefulRestart: %v, but the cluster's BGPPeer has %v, and MetalLB's CRD refuses a change after creation; leave it at %v, or give the peer a new name (%s.name) so that the upgrade replaces it" $peerAt $peer.enableGracefulRestart $old.enableGracefulRestart $old.enableGracefulRestart $peerAt) }}
{{- end }}
{{- end }}
{{- /* connectTime: the BGPPeer CRD's CEL rules (api/v1beta2/bgppeer_types.go markers):
whole seconds, 1 to 65535 */}}
{{- with $peer.connectTime }}
{{- $ms := include "symmetric-routing.durationMs" . | int64 }}
{{- if or (ne (mod $ms 1000) 0) (lt $ms 1000) (gt $ms 65535000) }}
{{- $errors = append $errors (printf "%s.connectTime: %s must be a whole number of seconds from 1s to 65535s, e.g. 10s" $peerAt .) }}
{{- end }}
{{- end }}
{{- /* config.go peerFromCR: "invalid ebgp-multihop parameter set for an ibgp peer" */}}
{{- $myASN := hasKey $peer "myASN" | ternary $peer.myASN $vrf.myASN }}
{{- /* FRR refuses a local-as equal to its router's AS, "Cannot have local-as same as BGP AS
number" (FRR 10.5.3 bgpd/bgpd.c peer_local_as_set), which MetalLB v0.16.1 writes as it is
(internal/bgp/frr/templates/neighborsession.tmpl) */}}
{{- if and (hasKey $peer "localASN") $myASN (eq (int64 $peer.localASN) (int64 $myASN)) }}
{{- $errors = append $errors (printf "%s.localASN: %d is the session's own AS (myASN), and FRR refuses a local-as equal to it, so the session would not be configured; drop localASN, or set the AS the peer expects to see" $peerAt (int64 $peer.localASN)) }}
{{- end }}
{{- /* FRR binds the session to sourceAddress inside the VRF (update-source: MetalLB v0.16.1
internal/bgp/frr/templates/neighborsession.tmpl; FRR 10.5.3 bgpd/bgp_network.c
bgp_update_source, connect_error when the bind fails), and the kernel binds a VRF's socket
only to an address of that VRF. Extra interfaces (a loopback) may hold it; a nodes table
has its own rule (_nodes.tpl). */}}
{{- if and $peer.sourceAddress (not $dynamic) (not $vrf.nodes) (empty (($vrf.policy | default dict).extraInterfaces)) }}
{{- include "symmetric-routing.ipBlocks" (dict "blocks" $.blocks "addresses" (list $peer.sourceAddress)) }}
{{- if not (hasKey $hosts (toString (get $.blocks $peer.sourceAddress).first)) }}
{{- $errors = append $errors (printf "%s.sourceAddress: %s is no address of a port of %s, and FRR binds the session to it inside the VRF, which the kernel refuses, so the session would never open; use one of: %s, or leave it unset" $peerAt $peer.sourceAddress $vrfName (values $hosts | sortAlpha | join ", " | default "(no static address)")) }}
{{- end }}
{{- end }}
{{- if and $peer.ebgpMultiHop (hasKey $peer "peerASN") $myASN (eq (int64 $peer.peerASN) (int64 $myASN)) }}
{{- $errors = append $errors (printf "%s.ebgpMultiHop: the peer is iBGP (peerASN %d = myASN), and MetalLB refuses eBGP multihop there; drop ebgpMultiHop" $peerAt (int64 $peer.peerASN)) }}
{{- end }}
{{- /* MetalLB watches Secrets in its own namespace only: internal/k8s/k8s.go (cache
namespaces) feeds config.go passwordFromSecretForPeer */}}
{{- with $peer.passwordSecret }}
{{- if and .namespace (ne .namespace $v.metallb.namespace) }}
{{- $errors = append $errors (printf "%s.passwordSecret.namespace: %s is not MetalLB's namespace (metallb.namespace: %s), where MetalLB reads Secrets; move the Secret there and drop the namespace" $peerAt .namespace $v.metallb.namespace) }}
{{- end }}
{{- end }}
{{- /* a numbered peer is reached through the VRF's table: a port subnet or one of its routes */}}
{{- with $peer.peerAddress }}
{{- include "symmetric-routing.ipBlocks" (dict "blocks" $.blocks "addresses" (list .)) }}
{{- $target := get $.blocks . }}
{{- $family := toString $target.family }}
{{- $reachable := false }}
{{- $onPort := false }}
{{- range $subnetKey, $subnet := $subnets }}
{{- /* symmetric-routing.blockHolds, written out: it runs per peer and subnet */}}
{{- if and (eq (toString $subnet.family) $family) (le $subnet.first $target.first) (ge $subnet.last $target.last) }}
{{- $reachable = true }}
{{- if hasKey $connected $subnetKey }}
{{- $onPort = true }}
{{- end }}
{{- end }}
{{- end }}
{{- if not $reachable }}
{{- $errors = append $errors (printf "%s.peerAddress: %s is on no port subnet and no route of %s, so the session could not leave the VRF; add a route to it under %s.routes, or fix the address" $peerAt . $vrfName $at) }}
{{- else if and (not $dynamic) (not $peer.ebgpMultiHop) }}
{{- /* FRR sends eBGP with TTL 1 and waits for a connected next hop to the peer (bgpd.c
BGP_DEFAULT_TTL, bgp_fsm.c "Waiting for NHT, no path to neighbor present"; MetalLB v0.16.1
writes ebgp-multihop only when set: internal/bgp/frr/templates/neighborsession.tmpl) */}}
{{- if and (not $onPort) (eq (include "symmetric-routing.peerIsEBGP" (dict "peer" $peer "vrf" $vrf)) "true") }}
{{- $errors = append $errors (printf "%s.peerAddress: %s is an eBGP peer on no port subnet of %s, only behind a route, and FRR sends eBGP with TTL 1 to a directly connected peer only, so the session would never open; set %s.ebgpMultiHop: true, or peer with an address on a port subnet" $peerAt . $vrfName $peerAt) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* the VRF the peer runs in must be one this release creates */}}
{{- if and $peer.vrf (not (hasKey $vrfs $peer.vrf)) }}
{{- $errors = append $errors (printf "%s.vrf: %s is not a VRF of this release, which would leave the session outside the VRFs the chart sets up; use one of: %s, or leave it unset" $peerAt $peer.vrf (keys $vrfs | sortAlpha | join ", ")) }}
{{- else if and $peer.vrf (ne (toString $peer.vrf) $vrfName) }}
{{- /* MetalLB runs the session in spec.vrf and announces there what the peer is advertised
(speaker/bgp_controller.go, internal/bgp/frr/frr.go router per VRF, v0.16.1) */}}
{{- $errors = append $errors (printf "%s.vrf: %s, but the peer is under %s: its session would run in VRF %s and announce %s's pools there; move the peer under vrfs.%s, or leave vrf unset" $peerAt $peer.vrf $at $peer.vrf $at $peer.vrf) }}
{{- end }}
{{- $policy := $vrf.policy | default dict }}
{{- $selectors := $peer.nodeSelectors }}
{{- if and (not (hasKey $peer "nodeSelectors")) $policy.nodeSelector }}
{{- $selectors = list (dict "matchLabels" $policy.nodeSelector) }}
{{- end }}
{{- $_ := set $allPeers (printf "%06d" (len $allPeers)) (dict "at" $peerAt "vrfAt" $at "key" $key
  "vrf" ($peer.vrf | default $vrfName) "myASN" $myASN "routerID" ($peer.routerID | default "")
  "id" ($peer.peerAddress | default $peer.interface | default "") "selectors" $selectors) }}
{{- end }}
{{- end }}
{{- /* peers that share a node share one FRR: validation.go peersCanRunOnSameNode (v0.16);
before MetalLB 0.16 (v0.15.3 DiscardNativeOnly) the rules held whatever the nodes */}}
{{- $before016 := not (semverCompare ">=0.16.0-0" (toString ($v.metallb.version | default "0.15"))) }}
{{- $versionHint := $before016 | ternary "; MetalLB before 0.16 applies this on every node (metallb.version)" "" }}
{{- /* only peers that differ in a way MetalLB refuses are compared, pair by pair: by router
ID, by VRF and address, by VRF and local ASN (one pass each, not every pair of the release) */}}
{{- $pairs := list }}
{{- $byRouterID := dict }}
{{- $byVrf := dict }}
{{- $positions := keys $allPeers | sortAlpha }}
{{- range $positions }}
{{- $peer := get $allPeers . }}
{{- $_ := set $byRouterID $peer.routerID true }}
{{- $_ := set $byVrf $peer.vrf (append (get $byVrf $peer.vrf | default list) $peer) }}
{{- end }}
{{- if gt (len $byRouterID) 1 }}
{{- range $i := $positions }}
{{- range $j := $positions }}
{{- $p := get $allPeers $i }}
{{- $q := get $allPeers $j }}
{{- if and (lt $i $j) (ne $p.routerID $q.routerID) }}
{{- $pairs = append $pairs (dict "p" $p "q" $q "what" "routerID") }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- range $vrfPeers := values $byVrf }}
{{- range $i, $p := $vrfPeers }}
{{- range $j, $q := $vrfPeers }}
{{- if lt $i $j }}
{{- if and $p.id (eq $p.id $q.id) }}
{{- $pairs = append $pairs (dict "p" $p "q" $q "what" "id") }}
{{- end }}
{{- if and $p.myASN $q.myASN (ne (int64 $p.myASN) (int64 $q.myASN)) }}
{{- $pairs = append $pairs (dict "p" $p "q" $q "what" "myASN") }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- range $pairs }}
{{- $p := .p }}
{{- $q := .q }}
{{- if or $before016 (ne (include "symmetric-routing.selectorsDisjoint" (dict "a" $p.selectors "b" $q.selectors)) "true") }}
{{- if eq .what "routerID" }}
{{- $errors = append $errors (printf "%s.routerID: %q differs from %q of %s, and both peers can run on one node, where MetalLB needs one router ID: set the same routerID, or nodeSelectors that keep them apart%s" $p.at $p.routerID $q.routerID $q.at $versionHint) }}
{{- else if eq .what "id" }}
{{- $errors = append $errors (printf "%s: peer %s in VRF %s is also %s, and both can run on one node, where MetalLB refuses a duplicate peer; remove one, or set nodeSelectors that keep them apart%s" $p.at $p.id $p.vrf $q.at $versionHint) }}
{{- else }}
{{- $errors = append $errors (printf "%s.myASN: %d differs from %d of %s, and both peers can run on one node; MetalLB needs one local ASN per VRF and node: use the same myASN, or nodeSelectors that keep them apart%s" $p.at (int64 $p.myASN) (int64 $q.myASN) $q.at $versionHint) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* internal/bgp/community/community.go New: "1234:5678" or "large:1:2:3" */}}
{{- $aliases := $v.communities.aliases | default dict }}
{{- range $key := keys $aliases }}
{{- if not (regexMatch "^([0-9]+:[0-9]+|large:[0-9]+:[0-9]+:[0-9]+)$" (get $aliases $key | toString)) }}
{{- $errors = append $errors (printf "communities.aliases.%s: %q is not a community value; use 1234:5678 or large:1:2:3" $key (get $aliases $key | toString)) }}
{{- else }}
{{- with include "symmetric-routing.communityRange" (get $aliases $key | toString) }}
{{- $errors = append $errors (printf "communities.aliases.%s: %s" $key .) }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $errors }}
{{- end }}

{{/*
symmetric-routing.peerIsEBGP: "true" when a peer's session is eBGP: dynamicASN external, or
a peerASN other than its myASN (its own, else its VRF's); dynamicASN internal is iBGP (metallb
v0.16.1 api/v1beta2/bgppeer_types.go DynamicASN). The eBGP-only rules read it: TTL 1 to a
directly connected peer (validate.bgp), LOCAL_PREF to iBGP peers only (validate.pools).
Takes a dict: peer, vrf.
*/}}
{{- define "symmetric-routing.peerIsEBGP" -}}
{{- $myASN := hasKey .peer "myASN" | ternary .peer.myASN .vrf.myASN }}
{{- if eq (toString .peer.dynamicASN) "external" }}true
{{- else if and (hasKey .peer "peerASN") $myASN (ne (int64 .peer.peerASN) (int64 $myASN)) }}true
{{- else }}false
{{- end }}
{{- end }}
