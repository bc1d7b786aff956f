{{/*
symmetric-routing.validate.egress: each VRF's egress services, and the advertisements that
must announce their addresses from the node OVN-Kubernetes picks, as a JSON list of
messages. The node label is the one ovn-org/ovn-kubernetes go-controller/pkg/clustermanager/
egressservice sets (seed section 34.10.3). Takes the context of
templates/validate/values.yaml (root, v, fullname, vrfs, addresses, blocks).
*/}}
{{- define "symmetric-routing.validate.egress" -}}
{{- $errors := list }}
{{- $root := .root }}
{{- $egressTargets := dict }}
{{- /* the node label of each LoadBalancerIP service of the release: OVN-Kubernetes joins the
namespace and the name with a dash (go-controller/pkg/clustermanager/egressservice/
egressservice_cluster_node.go nodeLabelForService, v1.3.0), so team-a/web and team/a-web share one */}}
{{- $nodeLabels := dict }}
{{- /* OVN-Kubernetes DNATs an externalTrafficPolicy: Local Service's address to its masquerade
VIP (go-controller/pkg/node/gateway_iptables.go getExternalIPTRules, v1.3.0), which a request
that came in on a VRF port reaches only through the masquerade subnet's rule to the main table */}}
{{- $cluster := .v.cluster | default dict }}
{{- $noMasqueradeRule := and (empty $cluster.masqueradeSubnet) (not $cluster.lookup) }}
{{- /* the labels of every Network-mode service of the release, which no node ever carries */}}
{{- $networkModeLabels := dict }}
{{- range $vrfName, $vrf := .vrfs }}
{{- range $key, $svc := ($vrf.egressServices | default dict) }}
{{- if ne (include "symmetric-routing.sourceIPBy" $svc) "LoadBalancerIP" }}
{{- $label := include "symmetric-routing.egressServiceLabel" (dict "root" $root "key" $key "svc" $svc) }}
{{- $_ := set $networkModeLabels $label (printf "vrfs.%s.egressServices.%s" $vrfName $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* the families of the cluster's Services: the first service network is the default
(kubernetes v1.36.3 pkg/registry/core/service/storage/alloc.go initIPFamilyFields) */}}
{{- $serviceFamilies := list }}
{{- range ((.v.cluster | default dict).serviceNetwork | default list) }}
{{- $serviceFamilies = append $serviceFamilies (contains ":" . | ternary "IPv6" "IPv4") | uniq }}
{{- end }}
{{- range $vrfName, $vrf := .vrfs }}
{{- $at := printf "vrfs.%s" $vrfName }}
{{- $pools := $vrf.addressPools | default dict }}
{{- $loadBalancerIPServices := dict }}
{{- $networkServices := dict }}
{{- /* family -> the egress services whose traffic uses it */}}
{{- $needRoute := dict }}
{{- range $key, $svc := ($vrf.egressServices | default dict) }}
{{- $svcAt := printf "%s.egressServices.%s" $at $key }}
{{- $ctx := dict "root" $root "key" $key "svc" $svc "vrf" $vrf }}
{{- $target := printf "%s/%s" (include "symmetric-routing.egressServiceNamespace" $ctx) (include "symmetric-routing.egressServiceName" $ctx) }}
{{- if hasKey $egressTargets $target }}
{{- $errors = append $errors (printf "%s: Service %s already has an EgressService, from %s; a Service takes one" $svcAt $target (get $egressTargets $target)) }}
{{- end }}
{{- $_ := set $egressTargets $target $svcAt }}
{{- $label := include "symmetric-routing.egressServiceLabel" $ctx }}
{{- $mode := include "symmetric-routing.sourceIPBy" $svc }}
{{- $service := $svc.service | default dict }}
{{- if and $svc.addressPool (not (hasKey $pools $svc.addressPool)) }}
{{- $errors = append $errors (printf "%s.addressPool: %q is not a pool of %s; use one of: %s" $svcAt $svc.addressPool $vrfName (keys $pools | sortAlpha | join ", " | default "(none defined)")) }}
{{- else if and (not $svc.addressPool) (or (eq $mode "LoadBalancerIP") $service.create) (ne (len $pools) 1) }}
{{- $errors = append $errors (printf "%s.addressPool: %s has %d address pools; name the one the Service takes its address from" $svcAt $vrfName (len $pools)) }}
{{- end }}
{{- if eq $mode "LoadBalancerIP" }}
{{- with get $nodeLabels $label }}
{{- if ne .target $target }}
{{- $errors = append $errors (printf "%s: Service %s gets node label %s from OVN-Kubernetes, as Service %s of %s does (it joins namespace and name with a dash), so each announcement would cover both egress nodes and each Service's replies would leave from one; rename one of the Services" $svcAt $target $label .target .at) }}
{{- end }}
{{- end }}
{{- $_ := set $nodeLabels $label (dict "target" $target "at" $svcAt) }}
{{- $poolKey := include "symmetric-routing.egressServicePool" $ctx }}
{{- $entry := dict "label" $label "at" $svcAt }}
{{- $_ := set $loadBalancerIPServices $poolKey (append (get $loadBalancerIPServices $poolKey | default list) $entry) }}
{{- if gt (len (trimPrefix "egress-service.k8s.ovn.org/" $label)) 63 }}
{{- $errors = append $errors (printf "%s: the node label %s that OVN-Kubernetes sets is longer than 63 characters after the prefix; shorten the Service name or namespace" $svcAt $label) }}
{{- end }}
{{- else }}
{{- with include "symmetric-routing.egressServicePool" $ctx }}
{{- $_ := set $networkServices . (append (get $networkServices . | default list) $svcAt) }}
{{- end }}
{{- end }}
{{- /* the EgressService selects the VRF's nodes and the service's own selector both
(templates/egressservice.yaml): a label both name with two values selects no node */}}
{{- $vrfLabels := (($vrf.policy | default dict).nodeSelector | default dict) }}
{{- range $labelKey, $value := (($svc.nodeSelector | default dict).matchLabels | default dict) }}
{{- if and (hasKey $vrfLabels $labelKey) (ne (toString $value) (toString (get $vrfLabels $labelKey))) }}
{{- $errors = append $errors (printf "%s.nodeSelector.matchLabels.%s: %q, but the VRF's nodes carry %s=%q (vrfs.%s.policy.nodeSelector), and the EgressService selects among the VRF's nodes only, so it would select none; drop the label or give the VRF's value" $svcAt $labelKey (toString $value) $labelKey (toString (get $vrfLabels $labelKey)) $vrfName) }}
{{- end }}
{{- end }}
{{- if and (ne $mode "LoadBalancerIP") $svc.nodeSelector }}
{{- if eq (include "symmetric-routing.selectsLabel" (dict "selector" $svc.nodeSelector "label" $label)) "true" }}
{{- $errors = append $errors (printf "%s.nodeSelector: selects %s, which OVN-Kubernetes sets only with sourceIPBy: LoadBalancerIP; select the VRF's nodes instead" $svcAt $label) }}
{{- end }}
{{- end }}
{{- /* MetalLB gives a Service only addresses of the pool it names
(metallb internal/allocator/allocator.go Assign: "is not allowed in config") */}}
{{- $poolKey := include "symmetric-routing.egressServicePool" $ctx }}
{{- /* the families its traffic uses: its pool's, narrowed to the cluster's default family
for a SingleStack Service the chart renders */}}
{{- $used := dict }}
{{- range ((get $pools $poolKey | default dict).addresses | default list) }}
{{- $_ := set $used (contains ":" . | ternary "6" "4") true }}
{{- end }}
{{- if and $service.create $serviceFamilies (eq (toString ($service.ipFamilyPolicy | default "SingleStack")) "SingleStack") }}
{{- $only := eq (first $serviceFamilies) "IPv6" | ternary "6" "4" }}
{{- $used = pick $used $only }}
{{- end }}
{{- range $family := keys $used }}
{{- $_ := set $needRoute $family (append (get $needRoute $family | default list) $key) }}
{{- end }}
{{- with (get $pools $poolKey | default dict).addresses }}
{{- $poolAddresses := . }}
{{- range $i, $ip := ($service.loadBalancerIPs | default list) }}
{{- include "symmetric-routing.ipBlocks" (dict "blocks" $.blocks "addresses" (concat $poolAddresses (list $ip))) }}
{{- $inPool := false }}
{{- range $poolAddresses }}
{{- if eq (include "symmetric-routing.blockHolds" (dict "a" (get $.blocks .) "b" (get $.blocks $ip))) "true" }}
{{- $inPool = true }}
{{- end }}
{{- end }}
{{- if not $inPool }}
{{- $errors = append $errors (printf "%s.service.loadBalancerIPs[%d]: %s is not in pool %s (%s), the only one the Service may take from; pick an address of the pool" $svcAt $i $ip $poolKey (join ", " (get $pools $poolKey).addresses)) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* a pool's own serviceAllocation must admit the Service the chart renders for it
(metallb v0.16.1 internal/allocator/allocator.go isPoolCompatibleWithService: the namespace
in namespaces, the labels matched by a serviceSelector); namespaceSelectors need the
cluster's namespaces and are left to the preflight */}}
{{- $allocation := (get $pools $poolKey | default dict).serviceAllocation }}
{{- if and $service.create $allocation }}
{{- $namespace := include "symmetric-routing.egressServiceNamespace" $ctx }}
{{- if and $allocation.namespaces (not $allocation.namespaceSelectors) (not (has $namespace $allocation.namespaces)) }}
{{- $errors = append $errors (printf "%s.namespace: %s is not among vrfs.%s.addressPools.%s.serviceAllocation.namespaces (%s), so MetalLB gives the Service no address; add it there" $svcAt $namespace $vrfName $poolKey (join ", " $allocation.namespaces)) }}
{{- end }}
{{- with $allocation.serviceSelectors }}
{{- $poolName := include "symmetric-routing.objectName" (dict "prefix" $.fullname "vrf" $vrfName "key" $poolKey "item" (get $pools $poolKey)) }}
{{- $labels := include "symmetric-routing.egressServiceLabels" (merge (dict "vrfName" $vrfName "poolName" $poolName) $ctx) | fromYaml }}
{{- $admitted := false }}
{{- range . }}
{{- if eq (include "symmetric-routing.selectorMatches" (dict "selector" . "labels" $labels)) "true" }}
{{- $admitted = true }}
{{- end }}
{{- end }}
{{- if not $admitted }}
{{- $errors = append $errors (printf "%s.service.labels: no serviceSelector of vrfs.%s.addressPools.%s.serviceAllocation matches the Service the chart renders, so MetalLB gives it no address; add labels here that one selects, or a selector for %s" $svcAt $vrfName $poolKey (toJson (include "symmetric-routing.poolServiceLabel" $poolName | fromJson))) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and $service.create $serviceFamilies }}
{{- $errors = concat $errors (include "symmetric-routing.validate.serviceFamilies" (dict "at" (printf "%s.service" $svcAt) "service" $service "clusterFamilies" $serviceFamilies "pool" (get $pools $poolKey | default dict) "poolKey" $poolKey) | fromJsonArray) }}
{{- end }}
{{- /* the EgressService's network is the routing table its traffic goes to
(ovn-kubernetes go-controller/pkg/node/controllers/egressservice/egressservice_node.go
adds `ip rule ... lookup <network>`); another table leaves the VRF's routes unused */}}
{{- if and $svc.network (ne (toString $svc.network) (toString (int64 $vrf.tableId))) }}
{{- $errors = append $errors (printf "%s.network: %s is not the table of %s (%d), so its traffic would skip the VRF's routes; drop network (it defaults to the VRF's table)" $svcAt (toString $svc.network) $vrfName (int64 $vrf.tableId)) }}
{{- end }}
{{- /* kubernetes pkg/apis/core/validation/validation.go ValidateService: each port a name
when there are several, names unique, port and protocol unique */}}
{{- $ports := $service.ports | default list }}
{{- $portNames := dict }}
{{- $portKeys := dict }}
{{- range $i, $port := $ports }}
{{- $portAt := printf "%s.service.ports[%d]" $svcAt $i }}
{{- if and (gt (len $ports) 1) (not $port.name) }}
{{- $errors = append $errors (printf "%s.name: a Service with several ports needs a name on each; add one, e.g. name: port-%d" $portAt (int64 $port.port)) }}
{{- else if and $port.name (hasKey $portNames $port.name) }}
{{- $errors = append $errors (printf "%s.name: %q is also the name of %s; give each port its own name" $portAt $port.name (get $portNames $port.name)) }}
{{- end }}
{{- with $port.name }}{{ $_ := set $portNames . $portAt }}{{ end }}
{{- $key := printf "%d/%s" (int64 $port.port) ($port.protocol | default "TCP") }}
{{- if hasKey $portKeys $key }}
{{- $errors = append $errors (printf "%s.port: %s is also the port of %s; one port and protocol once per Service" $portAt $key (get $portKeys $key)) }}
{{- end }}
{{- $_ := set $portKeys $key $portAt }}
{{- end }}
{{- if and $service.create (empty $service.ports) }}
{{- $errors = append $errors (printf "%s.service.ports: service.create renders a LoadBalancer Service, which needs at least one port" $svcAt) }}
{{- end }}
{{- if and $service.create (eq (toString $service.externalTrafficPolicy) "Local") $noMasqueradeRule }}
{{- $errors = append $errors (printf "%s.service.externalTrafficPolicy: Local makes OVN-Kubernetes send each request to its masquerade address, which a request that came in on a VRF port reaches only through the masquerade subnet's route rule, and cluster.masqueradeSubnet is empty (cluster.noMasqueradeSubnet); set cluster.masqueradeSubnet (`symrouting discover` prints it), or use Cluster" $svcAt) }}
{{- end }}
{{- end }}
{{- /* OVN-Kubernetes steers each endpoint's traffic of a family with `ip -4`/`ip -6 rule
from <endpoint> lookup <table>` (go-controller/pkg/node/controllers/egressservice/
egressservice_node.go, v1.3.0); where the table has no route to the client, the kernel goes
on to the next rule, the main table (net/ipv4/fib_rules.c fib4_rule_action, net/ipv6/
fib6_rules.c: -EAGAIN), and replies leave outside the VRF. A route of each family used, or
DHCP or autoconf, which learn one into the table */}}
{{- $families := get $.families $vrfName }}
{{- $routed := merge dict $families.dynamic }}
{{- range concat ($vrf.routes | default list) ((($vrf.policy | default dict).extraRoutes) | default list) }}
{{- $_ := set $routed (contains ":" (toString .destination) | ternary "6" "4") true }}
{{- end }}
{{- range $family := keys $needRoute | sortAlpha }}
{{- /* a family no port has is refused by the pools' rule already (_pools.tpl) */}}
{{- if and (hasKey $families.any $family) (not (hasKey $routed $family)) }}
{{- $errors = append $errors (printf "%s.routes: egress services %s use IPv%s, but %s has no IPv%s route, so OVN-Kubernetes' rules (from <endpoint> lookup %d) find no way to off-link clients in the VRF table and the kernel falls through to the main table: replies and egress would leave outside the VRF; add a route of that family, e.g. {destination: %s, nextHopAddress: <the VRF's gateway>}" $at (get $needRoute $family | sortAlpha | join ", ") $family $vrfName $family (int64 $vrf.tableId) (eq $family "6" | ternary "\"::/0\"" "0.0.0.0/0")) }}
{{- end }}
{{- end }}
{{- /* a LoadBalancerIP service's pool is announced from its egress node only (narrowed by
node label, symmetric-routing.advertisements); a Network service's address must come in on
every VRF node (ovn-kubernetes go-controller/pkg/crd/egressservice/v1/types.go: status.host
ALL for sourceIPBy Network), so the two cannot share a pool */}}
{{- range $poolKey, $networkAts := $networkServices }}
{{- with get $loadBalancerIPServices $poolKey }}
{{- $other := (first .).at }}
{{- range $networkAts }}
{{- $errors = append $errors (printf "%s.addressPool: pool %s also backs %s (sourceIPBy: LoadBalancerIP), whose announcement covers its egress node only, but a sourceIPBy: Network address must be announced from every VRF node; give this service a pool of its own" . $poolKey $other) }}
{{- end }}
{{- end }}
{{- end }}
{{- range $key, $adv := ($vrf.bgpAdvertisements | default dict) }}
{{- $advAt := printf "%s.bgpAdvertisements.%s" $at $key }}
{{- $advertised := include "symmetric-routing.advertisedPools" (dict "adv" $adv "vrf" $vrf) | fromJsonArray }}
{{- if hasKey $adv "nodeSelectors" }}
{{- range $poolKey := $advertised }}
{{- range (get $loadBalancerIPServices $poolKey | default list) }}
{{- $service := . }}
{{- $selected := false }}
{{- range ($adv.nodeSelectors | default list) }}
{{- if eq (include "symmetric-routing.selectsLabel" (dict "selector" . "label" $service.label)) "true" }}
{{- $selected = true }}
{{- end }}
{{- end }}
{{- if not $selected }}
{{- $errors = append $errors (printf "%s.nodeSelectors: select %s, the node OVN-Kubernetes picks for %s (sourceIPBy: LoadBalancerIP), or replies leave from a node the announcement does not cover; add it to a selector's matchLabels, or leave nodeSelectors unset to derive it" $advAt $service.label $service.at) }}
{{- end }}
{{- end }}
{{- end }}
{{- else if and (not $advertised) $loadBalancerIPServices }}
{{- $errors = append $errors (printf "%s: picks its pools by ipAddressPoolSelectors only, so the chart cannot tell which LoadBalancerIP egress services it announces; list them in ipAddressPools, or set nodeSelectors with their egress-service labels" $advAt) }}
{{- else if $adv.ipAddressPoolSelectors }}
{{- /* a pool the selectors may pick beside ipAddressPools would be announced from every node */}}
{{- range $poolKey := keys $loadBalancerIPServices | sortAlpha }}
{{- if not (has $poolKey $advertised) }}
{{- $errors = append $errors (printf "%s.ipAddressPoolSelectors: may pick pool %s, which backs %s (sourceIPBy: LoadBalancerIP), and the chart cannot tell; a pool picked so is announced from every node, not only its egress node: list it in ipAddressPools, or leave the selectors out" $advAt $poolKey (first (get $loadBalancerIPServices $poolKey)).at) }}
{{- end }}
{{- end }}
{{- end }}
{{- range $i, $selector := ($adv.nodeSelectors | default list) }}
{{- range $label, $svcAt := $networkModeLabels }}
{{- if eq (include "symmetric-routing.selectsLabel" (dict "selector" $selector "label" $label)) "true" }}
{{- $errors = append $errors (printf "%s.nodeSelectors[%d]: selects %s, but %s uses sourceIPBy: Network, where OVN-Kubernetes never sets that label; select the VRF's nodes instead" $advAt $i $label $svcAt) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $errors }}
{{- end }}

{{/*
symmetric-routing.validate.serviceFamilies: a rendered LoadBalancer Service's address
families, as a JSON list of messages. Kubernetes gives the Service the cluster's default
family, or both with a dual-stack policy, and refuses RequireDualStack on a single-stack
cluster (kubernetes v1.36.3 pkg/registry/core/service/storage/alloc.go initIPFamilyFields).
MetalLB then wants the requested addresses to be one per family of the Service (metallb
v0.16.1 controller/service.go allocateIPs "does not match the ipFamily of the service",
internal/ipfamily/ipfamily.go ForAddresses "same address family"), and a dual-stack
Service needs a pool with both (internal/allocator/allocator.go AllocateFromPool).
Takes a dict: at, service, clusterFamilies (the serviceNetwork's, default first), pool, poolKey.
*/}}
{{- define "symmetric-routing.validate.serviceFamilies" -}}
{{- $errors := list }}
{{- $policy := .service.ipFamilyPolicy | default "SingleStack" }}
{{- $clusterDual := eq (len .clusterFamilies) 2 }}
{{- $families := list (first .clusterFamilies) }}
{{- if and (ne $policy "SingleStack") $clusterDual }}
{{- $families = .clusterFamilies }}
{{- end }}
{{- if and (eq $policy "RequireDualStack") (not $clusterDual) }}
{{- $errors = append $errors (printf "%s.ipFamilyPolicy: RequireDualStack, but cluster.serviceNetwork has %s only, and Kubernetes refuses a dual-stack Service on a single-stack cluster; use SingleStack or PreferDualStack" .at (first .clusterFamilies)) }}
{{- else }}
{{- with .service.loadBalancerIPs }}
{{- $requested := list }}
{{- range . }}
{{- $requested = append $requested (contains ":" . | ternary "IPv6" "IPv4") }}
{{- end }}
{{- if and (eq (len $requested) 2) (eq (first $requested) (last $requested)) }}
{{- $errors = append $errors (printf "%s.loadBalancerIPs: %s are both %s; MetalLB takes one address per family, so give one IPv4 and one IPv6 address, or one address" $.at (join ", " .) (first $requested)) }}
{{- else if ne (len $requested) (len $families) }}
{{- $errors = append $errors (printf "%s.loadBalancerIPs: %d addresses (%s), but the Service is %s (ipFamilyPolicy %s, cluster.serviceNetwork %s), and MetalLB refuses addresses that do not match its families; give one address of each: %s" $.at (len $requested) (join ", " .) (join "+" $families) $policy (join "+" $.clusterFamilies) (join ", " $families)) }}
{{- else if and (eq (len $requested) 1) (ne (first $requested) (first $families)) }}
{{- $errors = append $errors (printf "%s.loadBalancerIPs: %s is %s, but the Service is %s (ipFamilyPolicy %s; Kubernetes gives it the family of the first cluster.serviceNetwork), and MetalLB refuses it; request an %s address" $.at (first .) (first $requested) (first $families) $policy (first $families)) }}
{{- end }}
{{- else }}
{{- if eq (len $families) 2 }}
{{- $poolFamilies := list }}
{{- range (.pool.addresses | default list) }}
{{- $poolFamilies = append $poolFamilies (contains ":" . | ternary "IPv6" "IPv4") | uniq }}
{{- end }}
{{- if and (eq $policy "RequireDualStack") (lt (len $poolFamilies) 2) }}
{{- $errors = append $errors (printf "%s.ipFamilyPolicy: RequireDualStack needs an IPv4 and an IPv6 address, and pool %s has %s only, so MetalLB would allocate none; add the other family to the pool, or use PreferDualStack" .at .poolKey (join "" $poolFamilies | default "no address")) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $errors }}
{{- end }}

{{/*
symmetric-routing.selectorMatches: "true" when a Kubernetes label selector matches a label
set: every matchLabels pair, and every matchExpressions requirement (In, NotIn, Exists,
DoesNotExist as apimachinery v0.36.3 pkg/labels/selector.go Requirement.Matches reads them).
Takes a dict: selector, labels.
*/}}
{{- define "symmetric-routing.selectorMatches" -}}
{{- $labels := .labels }}
{{- $matches := true }}
{{- range $key, $value := (.selector.matchLabels | default dict) }}
{{- if or (not (hasKey $labels $key)) (ne (toString (get $labels $key)) (toString $value)) }}
{{- $matches = false }}
{{- end }}
{{- end }}
{{- range (.selector.matchExpressions | default list) }}
{{- $present := hasKey $labels .key }}
{{- $in := and $present (has (toString (get $labels .key)) (.values | default list)) }}
{{- if or (and (eq .operator "In") (not $in)) (and (eq .operator "NotIn") $in) (and (eq .operator "Exists") (not $present)) (and (eq .operator "DoesNotExist") $present) }}
{{- $matches = false }}
{{- end }}
{{- end }}
{{- $matches }}
{{- end }}
