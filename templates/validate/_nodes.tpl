{{/*
symmetric-routing.validate.nodes: which nodes carry a VRF and which node announces each
address, as a JSON list of messages: a VRF's `nodes` table (ports it names, one address per
node and port, every node on the same ports, each node's next hops on its own subnets,
policy names nmstate can label), policies that would reach every node or give several nodes
one static address, and each LoadBalancerIP egress service announced from its own node only
(OVN-Kubernetes picks one node per service, selectNodeFor in ovn-kubernetes
go-controller/pkg/clustermanager/egressservice). Takes the context of
templates/validate/values.yaml (root, v, fullname, vrfs, addresses, blocks).
*/}}
{{- define "symmetric-routing.validate.nodes" -}}
{{- $root := .root }}
{{- $fullname := .fullname }}
{{- $errors := list }}
{{- $bySelector := eq (include "symmetric-routing.serviceSelectorsSupported" $root) "true" }}
{{- $addressOwners := dict }}
{{- range $vrfName, $vrf := .vrfs }}
{{- $at := printf "vrfs.%s" $vrfName }}
{{- $policy := $vrf.policy | default dict }}
{{- $ports := $vrf.ports | default dict }}
{{- $nodes := $vrf.nodes | default dict }}
{{- $shared := list }}
{{- range $portName, $port := $ports }}
{{- range $family := list "ipv4" "ipv6" }}
{{- if kindIs "slice" (get ($port | default dict) $family) }}
{{- $shared = append $shared (printf "%s.ports.%s.%s" $at $portName $family) }}
{{- end }}
{{- end }}
{{- end }}
{{- $waves := $vrf.waves | default dict }}
{{- if and $waves (not $nodes) }}
{{- $errors = append $errors (printf "%s.waves: waves split the per-node policies of a nodes table, and this VRF has none (one policy reaches all its nodes at once); list its nodes under %s.nodes, or remove %s.waves" $at $at $at) }}
{{- end }}
{{- range $node, $_ := ($waves.nodes | default dict) }}
{{- if not (hasKey $nodes $node) }}
{{- $errors = append $errors (printf "%s.waves.nodes.%s: not a node of %s.nodes, so no policy of it gets this wave; name a node of the table, or remove the line" $at $node $at) }}
{{- end }}
{{- end }}
{{- if not $nodes }}
{{- if and (empty $policy.nodeSelector) (not $policy.allowAllNodes) }}
{{- $errors = append $errors (printf "%s.policy.nodeSelector: empty, so the VRF's policy reaches every node, the control plane included; select the nodes that carry it (e.g. `node-role.kubernetes.io/worker: \"\"`), list them under %s.nodes, or set %s.policy.allowAllNodes: true" $at $at $at) }}
{{- end }}
{{- /* a source address is one the port holds: by DHCP or autoconf nobody knows it in advance */}}
{{- range $i, $route := ($vrf.routes | default list) }}
{{- $via := include "symmetric-routing.routePort" (dict "route" $route "ports" $ports) }}
{{- $family := contains ":" ($route.source | default "") | ternary "ipv6" "ipv4" }}
{{- $how := get (get $ports $via | default dict) $family }}
{{- if and $route.source $how (kindIs "string" $how) }}
{{- $errors = append $errors (printf "%s.routes[%d].source: %s takes its %s address by %s, so no fixed source address is known; leave source out (the kernel takes the port's address)" $at $i $via $family $how) }}
{{- end }}
{{- end }}
{{- /* a static address is one node's: a policy that can match several would give them all the same one */}}
{{- if and $shared (or (empty $policy.nodeSelector) (kindIs "string" $policy.maxUnavailable)) }}
{{- $errors = append $errors (printf "%s: static addresses (%s) in a policy that matches %s; every such node would get the same address. List each node's own under %s.nodes, one line per node (e.g. `worker-0: {<port>: 10.0.0.11/24}`), and move the addresses there" $at (join ", " $shared) ((empty $policy.nodeSelector) | ternary "every node" (printf "a share (maxUnavailable %s) of several nodes" (toString $policy.maxUnavailable))) $at) }}
{{- end }}
{{- else }}
{{- range $shared }}
{{- $errors = append $errors (printf "%s: with a nodes table every node would get this same address; give each node its own under %s.nodes, and remove it here" . $at) }}
{{- end }}
{{- range $i, $route := ($vrf.routes | default list) }}
{{- if $route.source }}
{{- $errors = append $errors (printf "%s.routes[%d].source: one address for every node of a nodes table; leave it out (the kernel takes the port's address on each node)" $at $i) }}
{{- end }}
{{- end }}
{{- range $key, $peer := ($vrf.bgpPeers | default dict) }}
{{- if $peer.sourceAddress }}
{{- $errors = append $errors (printf "%s.bgpPeers.%s.sourceAddress: one address for every node of a nodes table; leave it out (FRR takes the port's address on each node)" $at $key) }}
{{- end }}
{{- end }}
{{- $addressed := dict }}
{{- range $node := keys $nodes | sortAlpha }}
{{- $nodeAt := printf "%s.nodes.%s" $at $node }}
{{- range $portName, $entry := (get $nodes $node | default dict) }}
{{- if not (hasKey $ports $portName) }}
{{- $errors = append $errors (printf "%s.%s: %s is not a port of %s; use one of: %s" $nodeAt $portName $portName $vrfName (keys $ports | sortAlpha | join ", ")) }}
{{- else }}
{{- $_ := set $addressed $portName (get $addressed $portName | default dict) }}
{{- $_ := set (get $addressed $portName) $node true }}
{{- range (kindIs "slice" $entry | ternary $entry (list $entry)) }}
{{- $family := contains ":" . | ternary "ipv6" "ipv4" }}
{{- with get (get $ports $portName | default dict) $family }}
{{- if kindIs "string" . }}
{{- $errors = append $errors (printf "%s.%s: %s is a static %s address, but %s.ports.%s.%s is %s; use one or the other" $nodeAt $portName $family $family $at $portName $family .) }}
{{- end }}
{{- end }}
{{- $ip := (split "/" .)._0 }}
{{- /* /0 makes every destination on-link (linux net/ipv4/fib_frontend.c fib_add_ifaddr adds
the prefix as a connected route); nmstate 2.2.62 takes it, the schema's cidr allows it */}}
{{- if eq (split "/" .)._1 "0" }}
{{- $errors = append $errors (printf "%s.%s: %s has prefix length 0, which puts every destination on the port's link; give the subnet's prefix, e.g. %s/24" $nodeAt $portName . $ip) }}
{{- end }}
{{- if hasKey $addressOwners $ip }}
{{- $errors = append $errors (printf "%s.%s: %s is also the address of %s; each node and port needs its own" $nodeAt $portName $ip (get $addressOwners $ip)) }}
{{- end }}
{{- $_ := set $addressOwners $ip (printf "%s.%s" $nodeAt $portName) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- /* each node reaches each next hop on a subnet of its own: the kernel reaches a gateway
     only on a directly connected subnet (net/ipv4/fib_semantics.c fib_check_nh) */}}
{{- range $i, $route := ($vrf.routes | default list) }}
{{- $via := include "symmetric-routing.routePort" (dict "route" $route "ports" $ports) }}
{{- if $route.nextHopAddress }}
{{- include "symmetric-routing.ipBlocks" (dict "blocks" $.blocks "addresses" (list $route.nextHopAddress)) }}
{{- $hop := get $.blocks $route.nextHopAddress }}
{{- $v6 := contains ":" $route.nextHopAddress }}
{{- range $node := keys $nodes | sortAlpha }}
{{- $given := get (get $nodes $node | default dict) $via }}
{{- $mine := list }}
{{- range (kindIs "slice" $given | ternary $given (list $given)) }}
{{- if and . (eq (contains ":" .) $v6) }}
{{- $mine = append $mine . }}
{{- end }}
{{- end }}
{{- $onSubnet := false }}
{{- range $mine }}
{{- if eq (include "symmetric-routing.blockHolds" (dict "a" (get $.blocks .) "b" $hop)) "true" }}
{{- $onSubnet = true }}
{{- end }}
{{- end }}
{{- if and $mine (not $onSubnet) }}
{{- $errors = append $errors (printf "%s.nodes.%s.%s: %s is not on the subnet of %s, the next hop of %s.routes[%d]; fix the node's address or prefix" $at $node $via (join ", " $mine) $route.nextHopAddress $at $i) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- range $portName, $withAddress := $addressed }}
{{- $missing := list }}
{{- if lt (len $withAddress) (len $nodes) }}
{{- range $node := keys $nodes | sortAlpha }}
{{- if not (hasKey $withAddress $node) }}
{{- $missing = append $missing $node }}
{{- end }}
{{- end }}
{{- end }}
{{- with $missing }}
{{- $errors = append $errors (printf "%s.nodes: %s: no address on %s, which the other nodes of the table have; give each node one, or leave %s unaddressed on every node" $at (join ", " .) $portName $portName) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* each LoadBalancerIP egress service's address announced from its own egress node only */}}
{{- $services := dict }}
{{- range $svcKey, $svc := ($vrf.egressServices | default dict) }}
{{- if eq (include "symmetric-routing.sourceIPBy" $svc) "LoadBalancerIP" }}
{{- $poolKey := include "symmetric-routing.egressServicePool" (dict "svc" $svc "vrf" $vrf) }}
{{- $_ := set $services $poolKey (append (get $services $poolKey | default list) $svcKey) }}
{{- end }}
{{- end }}
{{- range $advKey, $adv := ($vrf.bgpAdvertisements | default dict) }}
{{- $advAt := printf "%s.bgpAdvertisements.%s" $at $advKey }}
{{- $covered := list }}
{{- range (include "symmetric-routing.advertisedPools" (dict "adv" $adv "vrf" $vrf) | fromJsonArray) }}
{{- $covered = concat $covered (get $services . | default list) }}
{{- end }}
{{- if gt (len $covered) 1 }}
{{- if hasKey $adv "nodeSelectors" }}
{{- $errors = append $errors (printf "%s.nodeSelectors: the advertisement announces the LoadBalancerIP egress services %s, each of whose replies leave from its own node; with one list of nodes each address is announced from the others' nodes too. Leave nodeSelectors unset (the chart gives each service its own advertisement), or give each service an advertisement of its own" $advAt (join ", " $covered)) }}
{{- end }}
{{- if $adv.serviceSelectors }}
{{- $errors = append $errors (printf "%s.serviceSelectors: the chart sets them to give each of the LoadBalancerIP egress services %s its own advertisement; remove them, or give each service an advertisement of its own" $advAt (join ", " $covered)) }}
{{- end }}
{{- end }}
{{- end }}
{{- if not $bySelector }}
{{- range $poolKey, $svcKeys := $services }}
{{- if gt (len $svcKeys) 1 }}
{{- $errors = append $errors (printf "%s.addressPools.%s: backs the LoadBalancerIP egress services %s. MetalLB before 0.16 announces a pool's addresses from every node an advertisement selects, so requests for one service would reach the other's egress node while its replies leave from its own. Give each service a pool of its own (%s.egressServices.<svc>.addressPool), or set metallb.version (now %s) to the cluster's MetalLB if it is 0.16 or later" $at $poolKey (join ", " $svcKeys) $at (toString $root.Values.metallb.version)) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- /* each node of a nodes table has an address of every family the VRF's routes, peers and
pools use: a node without one would install an IPv6 route through a next hop it cannot reach
and open no session of that family (nmstate applies the route anyway; the kernel keeps it
unreachable) */}}
{{- range $vrfName, $vrf := .vrfs }}
{{- $at := printf "vrfs.%s" $vrfName }}
{{- $used := dict }}
{{- range $i, $route := ($vrf.routes | default list) }}
{{- with $route.nextHopAddress }}
{{- $_ := set $used (contains ":" . | ternary "ipv6" "ipv4") (printf "%s.routes[%d] (next hop %s)" $at $i .) }}
{{- end }}
{{- end }}
{{- range $key, $peer := ($vrf.bgpPeers | default dict) }}
{{- with ($peer | default dict).peerAddress }}
{{- $_ := set $used (contains ":" . | ternary "ipv6" "ipv4") (printf "%s.bgpPeers.%s (peer %s)" $at $key .) }}
{{- end }}
{{- end }}
{{- range $key, $pool := ($vrf.addressPools | default dict) }}
{{- range (($pool | default dict).addresses | default list) }}
{{- $_ := set $used (contains ":" . | ternary "ipv6" "ipv4") (printf "%s.addressPools.%s (%s)" $at $key .) }}
{{- end }}
{{- end }}
{{- $dynamic := dict }}
{{- range $port := values ($vrf.ports | default dict) }}
{{- range $family := list "ipv4" "ipv6" }}
{{- with get ($port | default dict) $family }}
{{- $_ := set $dynamic $family true }}
{{- end }}
{{- end }}
{{- end }}
{{- range $node := keys ($vrf.nodes | default dict) | sortAlpha }}
{{- $has := deepCopy $dynamic }}
{{- range $entry := values (get $vrf.nodes $node | default dict) }}
{{- range (kindIs "slice" $entry | ternary $entry (list $entry)) }}
{{- if . }}{{ $_ := set $has (contains ":" . | ternary "ipv6" "ipv4") true }}{{ end }}
{{- end }}
{{- end }}
{{- range $family := list "ipv4" "ipv6" }}
{{- if and (hasKey $used $family) (not (hasKey $has $family)) }}
{{- $errors = append $errors (printf "%s.nodes.%s: has no %s address on the VRF's ports, but %s uses %s; give the node one (a list holds both families: `%s: {<port>: [<ipv4>/<len>, <ipv6>/<len>]}`), or take the node out of the table" $at $node (ternary "IPv6" "IPv4" (eq $family "ipv6")) (get $used $family) (ternary "IPv6" "IPv4" (eq $family "ipv6")) $node) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $errors }}
{{- end }}
