{{/*
symmetric-routing.validate.ports: each VRF's routing table, ports and routes, the parts of
its NodeNetworkConfigurationPolicy, as a JSON list of messages. Takes the context of
templates/validate/values.yaml (root, v, fullname, vrfs, addresses, blocks).
*/}}
{{- define "symmetric-routing.validate.ports" -}}
{{- $errors := list }}
{{- $v := .v }}
{{- $vrfs := .vrfs }}
{{- $tables := dict }}
{{- $portOwners := dict }}
{{- $portAddresses := dict }}
{{- range $vrfName, $vrf := $vrfs }}
{{- $at := printf "vrfs.%s" $vrfName }}
{{- $ports := $vrf.ports | default dict }}
{{- $addressing := get $.addresses $vrfName }}
{{- $table := toString (int64 $vrf.tableId) }}
{{- if hasKey $tables $table }}
{{- $errors = append $errors (printf "%s.tableId: table %s is already the table of %s; give each VRF its own table id" $at $table (get $tables $table)) }}
{{- end }}
{{- $_ := set $tables $table $at }}
{{- /* RT_TABLE_DEFAULT/MAIN/LOCAL and 252 (RT_TABLE_COMPAT): linux include/uapi/linux/rtnetlink.h */}}
{{- if and (ge (int64 $vrf.tableId) 252) (le (int64 $vrf.tableId) 255) }}
{{- $errors = append $errors (printf "%s.tableId: %s is reserved: 252-255 are the kernel's own tables (253 default, 254 main, 255 local); pick another id" $at $table) }}
{{- end }}
{{- /* OVN-Kubernetes numbers its own tables 1000 + ifindex on every node, whatever the
platform: ovn-org/ovn-kubernetes go-controller/pkg/util/net.go routingTableIDStart */}}
{{- if ge (int64 $vrf.tableId) 1000 }}
{{- $errors = append $errors (printf "%s.tableId: %s is 1000 or more, where OVN-Kubernetes puts its own routing tables (1000 + interface index); pick a table id from 1 to 999 (not 7, 252-255)" $at $table) }}
{{- end }}
{{- /* and table 7 on every node: its route to the service network through the management port
(pkg/node/managementport/port_linux.go ovnkubeSvcViaMgmPortRT, v1.3.0) */}}
{{- if eq (int64 $vrf.tableId) 7 }}
{{- $errors = append $errors (printf "%s.tableId: 7 is OVN-Kubernetes' table on every node (the service network through its management port, for internalTrafficPolicy: Local); the VRF would share it; pick another id from 1 to 999" $at) }}
{{- end }}
{{- /* The main-table rules must come before the kernel's VRF rule at 1000 (linux
drivers/net/vrf.c FIB_RULE_PREF, "lookup [l3mdev-table]", added with the first VRF): a request
that arrives on a VRF port and is DNATed to the service, cluster or masquerade network is
routed by it otherwise, back out of the VRF. So before OVN-Kubernetes' egress-service rules at
5000 (egressservice_node.go IPRulePriority) and its owned 2000 and 6000 too. And after its rule
at 30 (pkg/node/managementport/port_linux.go: fwmark 0x1745ec lookup 7, v1.3.0), which sends
the host's internalTrafficPolicy: Local traffic to the service network through its management
port: a main-table rule for the service network before it would take that traffic. */}}
{{- $priorityAt := hasKey $vrf "mainTableRulePriority" | ternary (printf "%s.mainTableRulePriority" $at) "mainTableRulePriority" }}
{{- $priority := int64 (hasKey $vrf "mainTableRulePriority" | ternary $vrf.mainTableRulePriority $v.mainTableRulePriority) }}
{{- if ge $priority 1000 }}
{{- $errors = append $errors (printf "%s: %d does not come before the kernel's VRF rule at 1000 (lookup [l3mdev-table]), which would route requests that arrive on a VRF port and go to the service, cluster or masquerade network by the VRF's table, back out of the VRF; pick a priority from 31 to 999 (default 998)" $priorityAt $priority) }}
{{- else if le $priority 30 }}
{{- $errors = append $errors (printf "%s: %d comes before OVN-Kubernetes' rule at 30 (fwmark 0x1745ec lookup 7), which sends the host's internalTrafficPolicy: Local traffic to services through its management port; pick a priority from 31 to 999 (default 998)" $priorityAt $priority) }}
{{- end }}
{{- if empty $ports }}
{{- $errors = append $errors (printf "%s.ports: a VRF needs at least one port, the interface it takes over, e.g. `ports: {ens4: {ipv4: [192.168.130.130/24]}}`" $at) }}
{{- end }}
{{- if hasKey $ports $vrfName }}
{{- $errors = append $errors (printf "%s.ports.%s: a port cannot have the VRF's own name; rename the VRF (e.g. %svrf)" $at $vrfName $vrfName) }}
{{- end }}
{{- range $portName, $port := $ports }}
{{- $portAt := printf "%s.ports.%s" $at $portName }}
{{- $members := list $portName }}
{{- $type := $port.type | default "ethernet" }}
{{- if and (eq $type "vlan") (not $port.vlan) }}
{{- $errors = append $errors (printf "%s: type vlan needs `vlan: {baseInterface: <nic>, id: <1-4094>}`" $portAt) }}
{{- end }}
{{- if and (ne $type "vlan") $port.vlan }}
{{- $errors = append $errors (printf "%s.vlan: only a port of type vlan takes a vlan block; set `type: vlan` or remove it" $portAt) }}
{{- end }}
{{- if and (eq $type "bond") (not $port.bond) }}
{{- $errors = append $errors (printf "%s: type bond needs `bond: {mode: <mode>, ports: [<nic>, ...]}`" $portAt) }}
{{- end }}
{{- if and (ne $type "bond") $port.bond }}
{{- $errors = append $errors (printf "%s.bond: only a port of type bond takes a bond block; set `type: bond` or remove it" $portAt) }}
{{- end }}
{{- if and (eq $type "bond") $port.bond }}
{{- $members = concat $members $port.bond.ports }}
{{- /* nmstate 2.2.62 rust/src/lib/ifaces/bond.rs, BondOptions::validate_miimon_and_arp_interval
validate_lacp_opts and validate_arp_interval: nmstate refuses these, so the policy would fail on every node */}}
{{- $options := $port.bond.options | default dict }}
{{- if and (gt (int64 ($options.miimon | default 0)) 0) (gt (int64 ($options.arp_interval | default 0)) 0) }}
{{- $errors = append $errors (printf "%s.bond.options: miimon and arp_interval exclude each other (nmstate refuses both); keep one of them" $portAt) }}
{{- end }}
{{- /* validate_arp_interval: the ARP monitor does not work in the modes that balance by MAC */}}
{{- if and (gt (int64 ($options.arp_interval | default 0)) 0) (has $port.bond.mode (list "802.3ad" "balance-tlb" "balance-alb")) }}
{{- $errors = append $errors (printf "%s.bond.options.arp_interval: mode %s takes no ARP monitor (nmstate refuses it in 802.3ad, balance-tlb and balance-alb); use miimon instead" $portAt $port.bond.mode) }}
{{- end }}
{{- range $option := list "lacp_rate" "lacp_active" }}
{{- if and (hasKey $options $option) (ne $port.bond.mode "802.3ad") }}
{{- $errors = append $errors (printf "%s.bond.options.%s: only a bond in mode 802.3ad takes %s (nmstate refuses it in %s); remove it or set `mode: 802.3ad`" $portAt $option $option $port.bond.mode) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* nmstate 2.2.62 rust/src/lib/ifaces/base.rs, BaseInterface::sanitize (MINIMUM_IPV6_MTU):
an MTU under 1280 with IPv6 on, from the port's or any node's address, or DHCP/autoconf */}}
{{- $family := get (get $addressing $portName | default dict) "ipv6" }}
{{- $dynamic := get (get $addressing $portName | default dict) "dynamic" | default list }}
{{- if and $port.mtu (lt (int64 $port.mtu) 1280) (or $family (has "ipv6" $dynamic)) }}
{{- $errors = append $errors (printf "%s.mtu: %d is below 1280, IPv6's minimum, and the port has IPv6 (nmstate refuses it); set mtu to 1280 or more, or drop the port's IPv6" $portAt (int64 $port.mtu)) }}
{{- end }}
{{- range $members }}
{{- if hasKey $portOwners . }}
{{- $errors = append $errors (printf "%s: interface %s is already used by %s; an interface can belong to one VRF once" $portAt . (get $portOwners .)) }}
{{- end }}
{{- if hasKey $vrfs . }}
{{- $errors = append $errors (printf "%s: interface %s is a VRF of this release; a port must be a NIC, VLAN or bond" $portAt .) }}
{{- end }}
{{- $_ := set $portOwners . $portAt }}
{{- end }}
{{- if and (eq $type "vlan") $port.vlan (hasKey $ports $port.vlan.baseInterface) }}
{{- $errors = append $errors (printf "%s.vlan.baseInterface: %s is a port of this VRF; a VLAN's base interface stays outside the VRF" $portAt $port.vlan.baseInterface) }}
{{- end }}
{{- end }}
{{- /* one address on two ports makes both answer for it; the kernel and nmstate take it,
the traffic goes astray */}}
{{- range $portName, $port := $ports }}
{{- range $family := list "ipv4" "ipv6" }}
{{- range $i, $address := (kindIs "slice" (get $port $family) | ternary (get $port $family) list) }}
{{- $addressAt := printf "%s.ports.%s.%s[%d]" $at $portName $family $i }}
{{- $host := (get $.blocks $address).address }}
{{- if hasKey $portAddresses $host }}
{{- $errors = append $errors (printf "%s: %s is also the address of %s; give each port its own address" $addressAt $address (get $portAddresses $host)) }}
{{- end }}
{{- $_ := set $portAddresses $host $addressAt }}
{{- end }}
{{- end }}
{{- end }}
{{- $extraNames := list }}
{{- range (($vrf.policy | default dict).extraInterfaces | default list) }}
{{- $extraNames = append $extraNames .name }}
{{- end }}
{{- /* nmstate 2.2.62 rust/src/lib/route_rule.rs, RouteRuleEntry::validate_ip_from_to and validate_fwmark_and_fwmask: a rule
needs ip-from, ip-to or family, and a family its addresses agree with */}}
{{- /* the verbatim nmstate entries: nmstate 2.2.62 refuses a field it does not know
(serde deny_unknown_fields, kebab-case: ifaces/base.rs, route.rs, route_rule.rs), on each node
at apply time; a key no nmstate field can have is said here */}}
{{- range $list := list "extraInterfaces" "extraRoutes" "extraRouteRules" }}
{{- range $i, $entry := (get ($vrf.policy | default dict) $list | default list) }}
{{- range $field := keys ($entry | default dict) | sortAlpha }}
{{- if not (regexMatch "^[a-z0-9][a-z0-9.-]*$" $field) }}
{{- $errors = append $errors (printf "%s.policy.%s[%d]: %q is no nmstate key (they are lower case, digits, dots and dashes, e.g. mac-address), and nmstate refuses a field it does not know on every node; fix its spelling" $at $list $i $field) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- range $i, $rule := (($vrf.policy | default dict).extraRouteRules | default list) }}
{{- $ruleAt := printf "%s.policy.extraRouteRules[%d]" $at $i }}
{{- /* OVN-Kubernetes v1.3.0 deletes the rules it did not make at 2000 and 6000 (iprulemanager
ip_rule_manager.go OwnPriority, for gateway_udn.go and egressip.go) and at 5000 the ones it
cannot tie to an egress service's endpoint (egressservice_node.go repairIPRules) */}}
{{- if and (hasKey $rule "priority") (has (int $rule.priority) (list 2000 5000 6000)) }}
{{- $errors = append $errors (printf "%s.priority: %d is a priority OVN-Kubernetes owns (2000 user-defined networks, 5000 egress services, 6000 EgressIP) and deletes the rules it did not make there; pick another" $ruleAt (int64 $rule.priority)) }}
{{- end }}
{{- if not (or (get $rule "ip-from") (get $rule "ip-to") $rule.family) }}
{{- $errors = append $errors (printf "%s: a rule needs ip-from, ip-to or family (nmstate refuses it otherwise); add one, e.g. `family: ipv4`" $ruleAt) }}
{{- end }}
{{- /* validate_fwmark_and_fwmask: a mask masks a mark */}}
{{- if and (hasKey $rule "fwmask") (not $rule.fwmark) }}
{{- $errors = append $errors (printf "%s.fwmask: a mask without fwmark (nmstate refuses the rule); add the fwmark it masks, or drop fwmask" $ruleAt) }}
{{- end }}
{{- range $side := list "ip-from" "ip-to" }}
{{- $address := get $rule $side | toString }}
{{- if and $rule.family (get $rule $side) (ne (contains ":" $address) (eq $rule.family "ipv6")) }}
{{- $errors = append $errors (printf "%s.%s: %s is not of family %s (nmstate refuses the rule); make family match the address, or drop family" $ruleAt $side $address $rule.family) }}
{{- end }}
{{- end }}
{{- end }}
{{- range $i, $route := ($vrf.routes | default list) }}
{{- $routeAt := printf "%s.routes[%d]" $at $i }}
{{- if $route.nextHopInterface }}
{{- if not (or (hasKey $ports $route.nextHopInterface) (has $route.nextHopInterface $extraNames)) }}
{{- $errors = append $errors (printf "%s.nextHopInterface: %s is not a port of %s; use one of: %s" $routeAt $route.nextHopInterface $vrfName (keys $ports | sortAlpha | join ", ")) }}
{{- end }}
{{- else if gt (len $ports) 1 }}
{{- $errors = append $errors (printf "%s.nextHopInterface: %s has several ports (%s); say which one the route leaves through" $routeAt $vrfName (keys $ports | sortAlpha | join ", ")) }}
{{- end }}
{{- if ne (contains ":" $route.destination) (contains ":" $route.nextHopAddress) }}
{{- $errors = append $errors (printf "%s: destination %s and nextHopAddress %s are of different IP families" $routeAt $route.destination $route.nextHopAddress) }}
{{- else }}
{{- /* the next hop must be on a subnet of the port: nmstate refuses a route over a port
whose family is off (rust/src/lib/route.rs "marked as IPv4 disabled"), and the kernel a
gateway it cannot reach directly (net/ipv4/fib_semantics.c fib_check_nh, no onlink in nmstate) */}}
{{- $via := include "symmetric-routing.routePort" (dict "route" $route "ports" $ports) }}
{{- $family := ternary "ipv6" "ipv4" (contains ":" $route.nextHopAddress) }}
{{- /* a port's own or its nodes' addresses; by DHCP its subnet is the network's to say */}}
{{- $known := get $addressing $via | default dict }}
{{- if and (hasKey $ports $via) (not (has $family ($known.dynamic | default list))) }}
{{- include "symmetric-routing.ipBlocks" (dict "blocks" $.blocks "addresses" (list $route.nextHopAddress)) }}
{{- $hop := get $.blocks $route.nextHopAddress }}
{{- $onSubnet := false }}
{{- range (get $known $family | default list) }}
{{- if eq (include "symmetric-routing.blockHolds" (dict "a" (get $.blocks .) "b" $hop)) "true" }}
{{- $onSubnet = true }}
{{- end }}
{{- end }}
{{- if not (get $known $family) }}
{{- $errors = append $errors (printf "%s.nextHopAddress: %s is an %s address, and port %s has none; add an %s address to %s.ports.%s (on one node) or to each node's line under %s.nodes, or route through another port" $routeAt $route.nextHopAddress (ternary "IPv6" "IPv4" (eq $family "ipv6")) $via $family $at $via $at) }}
{{- else if not $onSubnet }}
{{- $errors = append $errors (printf "%s.nextHopAddress: %s is on no subnet of port %s (%s); the kernel reaches a gateway only on a directly connected subnet: fix the address, or the port's %s prefix" $routeAt $route.nextHopAddress $via (get $known $family | default list | uniq | join ", ") $family) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $errors }}
{{- end }}
