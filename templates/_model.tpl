{{/*
_model.tpl: the model: values turned into the one plan every template reads (VRFs, ports,
nodes, routes and rules), and the nmstate desiredState each policy sends.
*/}}

{{/*
symmetric-routing.dropRemovedItems: takes the map items set to null out of .Values (a VRF,
or a port, peer, pool, advertisement or egress service of one; a BFD profile, a community
alias, a node of a VRF's nodes table or a port of a node), so that a later values file can remove an entry of an earlier one:
`vrfs: {media: null}`. Helm drops a null only where the chart has a default, and these maps
have none. templates/validate/values.yaml calls it first, before any template reads them.
Helm merges the values files before the chart sees them, so a null that names no entry of
an earlier file looks the same as one that does: what was taken out, with the kept keys it
may have been meant for, is kept as `$.symmetricRoutingRemoved` (value path -> near keys)
for NOTES.txt to say.
symmetric-routing.dropNulls does it for one map, in place. The VRFs go first, so that no
null VRF is asked for its maps.
*/}}
{{- define "symmetric-routing.dropRemovedItems" -}}
{{- $v := .Values }}
{{- $removed := dict }}
{{- range $path, $map := dict "bfdProfiles" ($v.bfdProfiles | default dict) "communities.aliases" ($v.communities.aliases | default dict) "vrfs" ($v.vrfs | default dict) }}
{{- include "symmetric-routing.dropNulls" (dict "map" $map "path" $path "removed" $removed) }}
{{- end }}
{{- range $vrfName, $vrf := ($v.vrfs | default dict) }}
{{- range $field := list "ports" "nodes" "bgpPeers" "addressPools" "bgpAdvertisements" "egressServices" }}
{{- include "symmetric-routing.dropNulls" (dict "map" (get $vrf $field | default dict) "path" (printf "vrfs.%s.%s" $vrfName $field) "removed" $removed) }}
{{- end }}
{{- range $nodeName, $node := ($vrf.nodes | default dict) }}
{{- include "symmetric-routing.dropNulls" (dict "map" ($node | default dict) "path" (printf "vrfs.%s.nodes.%s" $vrfName $nodeName) "removed" $removed) }}
{{- end }}
{{- end }}
{{- $_ := set . "symmetricRoutingRemoved" $removed }}
{{- end }}

{{- define "symmetric-routing.dropNulls" -}}
{{- $map := .map }}
{{- $gone := list }}
{{- range $key, $item := $map }}
{{- if kindIs "invalid" $item }}
{{- $gone = append $gone $key }}
{{- $_ := unset $map $key }}
{{- end }}
{{- end }}
{{- range $key := $gone }}
{{- $near := include "symmetric-routing.nearKeys" (dict "key" $key "among" (keys $map)) | fromJsonArray }}
{{- $_ := set $.removed (printf "%s.%s" $.path $key) $near }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.model: what several templates derive from the same values, computed on
first use and kept for the rest of the render on the top context, which Helm hands to every
template of the chart: the fullname, the release's labels, the cluster's CIDRs (so `lookup`
asks the cluster once), and per VRF its labels, the label selector of the nodes that carry
it (symmetric-routing.vrfNodeSelector) and its policies: one, or one per node of its `nodes`
table, each with its name, nodeSelector and desiredState (and its YAML), which the
NodeNetworkConfigurationPolicies and the hooks' plan both carry, and with `waves` its wave;
the plan takes each policy's ports and, once per VRF, what they share (desiredState's
`shared`: the VRF interface, extra interfaces, routes and rules); and the VRF's
advertisements (symmetric-routing.advertisements), which the BGPAdvertisements and the
plan both read (read-only: they are shared).
Prints nothing; read it as `$.symmetricRouting` after `include "symmetric-routing.model" $`.
templates/validate/ does not use it: it runs first, on values that may still be broken.
*/}}
{{- define "symmetric-routing.model" -}}
{{- if not (hasKey . "symmetricRouting") }}
{{- $fullname := include "symmetric-routing.fullname" . }}
{{- $networks := include "symmetric-routing.clusterNetworks" . | fromJson }}
{{- $vrfs := dict }}
{{- range $vrfName, $vrf := .Values.vrfs }}
{{- $policyName := include "symmetric-routing.policyName" (dict "prefix" $fullname "vrfName" $vrfName "vrf" $vrf) }}
{{- $selector := ($vrf.policy | default dict).nodeSelector | default dict }}
{{- $policies := list }}
{{- $shared := dict }}
{{- with $vrf.nodes }}
{{- /* one policy per node, picked by its hostname label as OpenShift's static-IP procedures do */}}
{{- $waves := $vrf.waves | default dict }}
{{- $named := $waves.nodes | default dict }}
{{- $canary := int ($waves.canary | default 1) }}
{{- $batch := int ($waves.batchSize | default (len .)) }}
{{- $counted := 0 }}
{{- range $node := keys . | sortAlpha }}
{{- $policy := dict "name" (include "symmetric-routing.nodePolicyName" (dict "policy" $policyName "node" $node)) "node" $node
  "nodeSelector" (merge (dict "kubernetes.io/hostname" $node) $selector) }}
{{- if $waves }}
{{- /* the canary is wave 1, then batches from wave 2, in name order; a named node's own wave */}}
{{- if hasKey $named $node }}
{{- $_ := set $policy "wave" (int (get $named $node)) }}
{{- else }}
{{- $_ := set $policy "wave" (lt $counted $canary | ternary 1 (add 2 (div (sub $counted $canary) $batch))) }}
{{- $counted = add1 $counted }}
{{- end }}
{{- end }}
{{- include "symmetric-routing.desiredState" (dict "root" $ "vrfName" $vrfName "vrf" $vrf "networks" $networks "addresses" (get $vrf.nodes $node) "shared" $shared "into" $policy) }}
{{- $policies = append $policies $policy }}
{{- end }}
{{- else }}
{{- $policy := dict "name" $policyName "node" "" "nodeSelector" $selector }}
{{- include "symmetric-routing.desiredState" (dict "root" $ "vrfName" $vrfName "vrf" $vrf "networks" $networks "shared" $shared "into" $policy) }}
{{- $policies = list $policy }}
{{- end }}
{{- include "symmetric-routing.vrfAdvertisements" (dict "root" $ "vrfName" $vrfName "vrf" $vrf "prefix" $fullname) }}
{{- $_ := set $vrfs $vrfName (dict
  "policies" $policies
  "shared" $shared
  "advertisements" (get $.symmetricRoutingAdvertisements $vrfName)
  "nodeSelector" (include "symmetric-routing.vrfNodeSelector" $vrf | fromJson)
  "labels" (include "symmetric-routing.labels" (dict "root" $ "vrf" $vrfName))) }}
{{- end }}
{{- $_ := set . "symmetricRouting" (dict
  "fullname" $fullname
  "labels" (include "symmetric-routing.labels" (dict "root" .))
  "networks" $networks
  "vrfs" $vrfs) }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.vrfNodeSelector: the nodes that carry a VRF, as the JSON of a Kubernetes
label selector, the default node selector of its BGPPeers and EgressServices: the matchLabels
of policy.nodeSelector and, with a `nodes` table, a kubernetes.io/hostname In expression over
its nodes. `{}` when neither is set (validate/_nodes.tpl refuses that unless
policy.allowAllNodes). Takes the VRF.
*/}}
{{- define "symmetric-routing.vrfNodeSelector" -}}
{{- $selector := dict }}
{{- with (.policy | default dict).nodeSelector }}
{{- $_ := set $selector "matchLabels" . }}
{{- end }}
{{- with .nodes }}
{{- $_ := set $selector "matchExpressions" (list (dict "key" "kubernetes.io/hostname" "operator" "In" "values" (keys . | sortAlpha))) }}
{{- end }}
{{- toJson $selector }}
{{- end }}

{{/*
symmetric-routing.durationMs: a Go duration string ("90s", "1m30s", "500ms") in whole
milliseconds, for comparing BGP timers. The schema has already checked the form.
*/}}
{{- define "symmetric-routing.durationMs" -}}
{{- $unitMs := dict "h" 3600000 "m" 60000 "s" 1000 "ms" 1 }}
{{- $total := 0.0 }}
{{- range regexFindAll "[0-9.]+(ms|h|m|s)" . -1 }}
{{- $unit := regexFind "(ms|h|m|s)$" . }}
{{- $total = addf $total (mulf (float64 (trimSuffix $unit .)) (get $unitMs $unit)) }}
{{- end }}
{{- int64 $total }}
{{- end }}

{{/*
symmetric-routing.peerTimers: a peer's hold and keepalive times as MetalLB v0.16.1 makes the
pair (internal/config/config.go parseTimers: an unset hold time is 3 keepalives, an unset
keepalive a third of the hold time), as JSON {"holdMs", "keepaliveMs"} in whole
milliseconds; {} when neither is set. The timer rules (validate.bgp) and the plan's
FRR-K8s timers (hooksPlan) read it. Takes the peer.
*/}}
{{- define "symmetric-routing.peerTimers" -}}
{{- if or .holdTime .keepaliveTime }}
{{- $keepalive := 0 }}
{{- with .keepaliveTime }}
{{- $keepalive = include "symmetric-routing.durationMs" . | int64 }}
{{- end }}
{{- $hold := mul $keepalive 3 }}
{{- with .holdTime }}
{{- $hold = include "symmetric-routing.durationMs" . | int64 }}
{{- end }}
{{- if not .keepaliveTime }}
{{- $keepalive = div $hold 3 }}
{{- end }}
{{- dict "holdMs" $hold "keepaliveMs" $keepalive | toJson }}
{{- else }}
{{- dict | toJson }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.selectorsDisjoint: "true" when no node can match both lists of label
selectors, judged on matchLabels only (two selectors are disjoint when they require
different values for one key). An empty list matches every node. Takes a dict: a, b.
*/}}
{{- define "symmetric-routing.selectorsDisjoint" -}}
{{- $disjoint := and (not (empty .a)) (not (empty .b)) }}
{{- range $sa := .a }}
{{- range $sb := $.b }}
{{- $pairDisjoint := false }}
{{- range $k, $v := ($sa.matchLabels | default dict) }}
{{- if and (hasKey ($sb.matchLabels | default dict) $k) (ne (toString $v) (toString (get $sb.matchLabels $k))) }}
{{- $pairDisjoint = true }}
{{- end }}
{{- end }}
{{- if not $pairDisjoint }}
{{- $disjoint = false }}
{{- end }}
{{- end }}
{{- end }}
{{- $disjoint }}
{{- end }}

{{/*
symmetric-routing.selectsLabel: "true" when a label selector (matchLabels and
matchExpressions) mentions the label key. Takes a dict: selector, label.
*/}}
{{- define "symmetric-routing.selectsLabel" -}}
{{- $found := hasKey (.selector.matchLabels | default dict) .label }}
{{- range (.selector.matchExpressions | default list) }}
{{- if eq .key $.label }}
{{- $found = true }}
{{- end }}
{{- end }}
{{- $found }}
{{- end }}

{{/*
symmetric-routing.clusterNetworks: the cluster's CIDRs as JSON (serviceNetwork,
clusterNetwork, masqueradeSubnet). Values win; with cluster.lookup, lists left empty are
read from the cluster at install time (OpenShift's Network config where its CRD exists,
else kubeadm-config; the nodes' masquerade annotation). lookup returns nothing under
`helm template` and Argo CD, and the lists stay empty: the preflight then stops the install.
*/}}
{{- define "symmetric-routing.clusterNetworks" -}}
{{- $cluster := .Values.cluster }}
{{- $networks := dict "serviceNetwork" ($cluster.serviceNetwork | default list) "clusterNetwork" ($cluster.clusterNetwork | default list) "masqueradeSubnet" ($cluster.masqueradeSubnet | default list) }}
{{- if $cluster.lookup }}
{{- $config := dict }}
{{- /* lookup fails outright for an API group the cluster does not serve: ask for its CRD first */}}
{{- if lookup "apiextensions.k8s.io/v1" "CustomResourceDefinition" "" "networks.config.openshift.io" }}
{{- $config = lookup "config.openshift.io/v1" "Network" "" "cluster" | default dict }}
{{- end }}
{{- $source := $config.status | default dict }}
{{- if not $source.serviceNetwork }}
{{- $source = $config.spec | default dict }}
{{- end }}
{{- if and (not $networks.serviceNetwork) $source.serviceNetwork }}
{{- $_ := set $networks "serviceNetwork" $source.serviceNetwork }}
{{- end }}
{{- if and (not $networks.clusterNetwork) $source.clusterNetwork }}
{{- $cidrs := list }}
{{- range $source.clusterNetwork }}
{{- $cidrs = append $cidrs .cidr }}
{{- end }}
{{- $_ := set $networks "clusterNetwork" ($cidrs | uniq) }}
{{- end }}
{{- if not $config }}
{{- $kubeadm := lookup "v1" "ConfigMap" "kube-system" "kubeadm-config" | default dict }}
{{- $kubeadmConfig := (($kubeadm.data | default dict).ClusterConfiguration | default "") | fromYaml }}
{{- with $kubeadmConfig.networking }}
{{- if and (not $networks.serviceNetwork) .serviceSubnet }}
{{- $_ := set $networks "serviceNetwork" (splitList "," .serviceSubnet) }}
{{- end }}
{{- if and (not $networks.clusterNetwork) .podSubnet }}
{{- $_ := set $networks "clusterNetwork" (splitList "," .podSubnet) }}
{{- end }}
{{- end }}
{{- end }}
{{- if not $networks.masqueradeSubnet }}
{{- $nodes := (lookup "v1" "Node" "" "" | default dict).items | default list }}
{{- with $nodes }}
{{- $annotation := get ((first .).metadata.annotations | default dict) "k8s.ovn.org/node-masquerade-subnet" }}
{{- with $annotation }}
{{- $_ := set $networks "masqueradeSubnet" (values (fromJson .) | sortAlpha) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $networks }}
{{- end }}

{{/*
symmetric-routing.desiredState: the nmstate desiredState of a VRF's policy: the VRF
interface, its ports with their addresses, the routes of the VRF table, and the route
rules that keep the cluster's own CIDRs on the main table (254), so that pods and services
stay reachable from the VRF. Takes a dict: root, vrfName, vrf, networks (the JSON of
symmetric-routing.clusterNetworks, decoded), addresses (a node's entry of the VRF's `nodes`
table, for a per-node policy), shared (a dict the VRF's policies share, where the first
keeps what does not differ from node to node), and into: a dict whose ports (for the plan,
beside `shared`) and desiredStateYaml (for the policy) it sets, since a helper returns only
text and decoding it again for every policy would cost more than building the state.
symmetric-routing.model calls it, once per policy and render.
*/}}
{{- define "symmetric-routing.desiredState" -}}
{{- $vrfName := .vrfName }}
{{- $vrf := .vrf }}
{{- $tableId := int64 $vrf.tableId }}
{{- $policy := $vrf.policy | default dict }}
{{- $ports := $vrf.ports | default dict }}
{{- $nodeAddresses := .addresses | default dict }}
{{- $portItems := list }}
{{- range $portName := keys $ports | sortAlpha }}
{{- $port := get $ports $portName }}
{{- $iface := dict "name" $portName "type" ($port.type | default "ethernet") "state" "up" }}
{{- /* a node's entry for the port: one address or a list, the family read off each */}}
{{- $given := get $nodeAddresses $portName }}
{{- $own := dict "ipv4" list "ipv6" list }}
{{- range (kindIs "slice" $given | ternary $given (list $given)) }}
{{- if . }}
{{- $family := contains ":" . | ternary "ipv6" "ipv4" }}
{{- $_ := set $own $family (append (get $own $family) .) }}
{{- end }}
{{- end }}
{{- range $family := list "ipv4" "ipv6" }}
{{- $source := get $own $family | default (get $port $family) }}
{{- if and $source (kindIs "string" $source) }}
{{- /* dhcp or autoconf; routes they learn go to the VRF table, and DNS stays the host's
     (nmstate rust/src/lib/ip.rs: auto-route-table-id, auto-dns); `address: []` takes off a
     static address an earlier revision set, which nmstate keeps while the state does not
     name it (ip.rs InterfaceIpv4 merge: what the desired state leaves out is preserved) */}}
{{- $ip := dict "enabled" true "dhcp" true "auto-dns" false "auto-route-table-id" $tableId "address" list }}
{{- if eq $family "ipv6" }}
{{- $_ := set $ip "autoconf" (eq $source "autoconf") }}
{{- end }}
{{- $_ := set $iface $family $ip }}
{{- else if $source }}
{{- $addresses := list }}
{{- range $source }}
{{- $addresses = append $addresses (dict "ip" (split "/" .)._0 "prefix-length" (atoi (split "/" .)._1)) }}
{{- end }}
{{- $ip := dict "enabled" true "dhcp" false "address" $addresses }}
{{- if eq $family "ipv6" }}
{{- $_ := set $ip "autoconf" false }}
{{- end }}
{{- $_ := set $iface $family $ip }}
{{- end }}
{{- end }}
{{- with $port.mtu }}
{{- $_ := set $iface "mtu" (int64 .) }}
{{- end }}
{{- $vlan := $port.vlan | default dict }}
{{- $bond := $port.bond | default dict }}
{{- if eq $iface.type "vlan" }}
{{- $_ := set $iface "vlan" (dict "base-iface" $vlan.baseInterface "id" (int64 $vlan.id)) }}
{{- end }}
{{- $bondMembers := list }}
{{- if eq $iface.type "bond" }}
{{- $aggregation := dict "mode" $bond.mode "port" $bond.ports }}
{{- with $bond.options }}
{{- $_ := set $aggregation "options" . }}
{{- end }}
{{- $_ := set $iface "link-aggregation" $aggregation }}
{{- range $bond.ports }}
{{- $bondMembers = append $bondMembers (dict "name" . "type" "ethernet" "state" "up") }}
{{- end }}
{{- end }}
{{- $portItems = concat $portItems (list $iface) $bondMembers }}
{{- end }}
{{- /* what every policy of the VRF shares (the VRF interface, the extra interfaces, its
     routes and rules) is built, and printed as YAML, once per VRF */}}
{{- $shared := .shared }}
{{- if not $shared.head }}
{{- $_ := set $shared "head" (dict "name" $vrfName "type" "vrf" "state" "up" "vrf" (dict "port" (keys $ports | sortAlpha) "route-table-id" $tableId)) }}
{{- $_ := set $shared "extras" ($policy.extraInterfaces | default list) }}
{{- $routes := list }}
{{- range $vrf.routes }}
{{- $route := dict "destination" .destination "next-hop-address" .nextHopAddress "next-hop-interface" (.nextHopInterface | default (keys $ports | first)) "table-id" $tableId }}
{{- if hasKey . "metric" }}
{{- $_ := set $route "metric" (int64 .metric) }}
{{- end }}
{{- with .source }}
{{- $_ := set $route "source" . }}
{{- end }}
{{- $routes = append $routes $route }}
{{- end }}
{{- $routes = concat $routes ($policy.extraRoutes | default list) }}
{{- $rules := list }}
{{- $priority := int64 (hasKey $vrf "mainTableRulePriority" | ternary $vrf.mainTableRulePriority .root.Values.mainTableRulePriority) }}
{{- range (concat .networks.serviceNetwork .networks.clusterNetwork .networks.masqueradeSubnet) }}
{{- $rules = append $rules (dict "ip-to" . "priority" $priority "route-table" 254) }}
{{- end }}
{{- $rules = concat $rules ($policy.extraRouteRules | default list) }}
{{- $rest := dict }}
{{- with $routes }}
{{- $_ := set $rest "routes" (dict "config" .) }}
{{- end }}
{{- with $rules }}
{{- $_ := set $rest "route-rules" (dict "config" .) }}
{{- end }}
{{- $_ := set $shared "rest" $rest }}
{{- $_ := set $shared "yaml" (dict "head" (toYaml (list $shared.head)) "extras" (ternary (printf "\n%s" (toYaml $shared.extras)) "" (not (empty $shared.extras))) "rest" (ternary (printf "\n%s" (toYaml $rest)) "" (not (empty $rest)))) }}
{{- end }}
{{- /* the plan carries only the ports per policy, the rest once per VRF (shared) */}}
{{- $_ := set .into "ports" $portItems }}
{{- /* the same text toYaml would print for the whole state: keys sorted, so interfaces
     come before route-rules and routes, and a list is printed item by item */}}
{{- $_ := set .into "desiredStateYaml" (printf "interfaces:\n%s\n%s%s%s" $shared.yaml.head (toYaml $portItems) $shared.yaml.extras $shared.yaml.rest) }}
{{- end }}
