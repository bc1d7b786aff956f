{{/*
_advertisements.tpl: advertisements: which pools and peers each BGPAdvertisement names, and how an
egress service's announcement follows the node OVN-Kubernetes picks for it.
*/}}

{{/*
symmetric-routing.sourceIPBy: an egress service's sourceIPBy, LoadBalancerIP unless set.
*/}}
{{- define "symmetric-routing.sourceIPBy" -}}
{{- .sourceIPBy | default "LoadBalancerIP" }}
{{- end }}

{{/*
symmetric-routing.egressServiceLabel: the node label OVN-Kubernetes sets on the node it
picks for a LoadBalancerIP egress service: "egress-service.k8s.ovn.org/<namespace>-<name>".
Takes a dict: root, key, svc.
*/}}
{{- define "symmetric-routing.egressServiceLabel" -}}
{{- printf "egress-service.k8s.ovn.org/%s-%s" (include "symmetric-routing.egressServiceNamespace" .) (include "symmetric-routing.egressServiceName" .) }}
{{- end }}

{{/*
symmetric-routing.egressServicePool: the key of the pool an egress service takes its
address from: addressPool, else the VRF's only pool (empty when it has none or several;
validate.yaml reports that). Takes a dict: svc, vrf.
*/}}
{{- define "symmetric-routing.egressServicePool" -}}
{{- if .svc.addressPool }}
{{- .svc.addressPool }}
{{- else if eq (len (.vrf.addressPools | default dict)) 1 }}
{{- keys .vrf.addressPools | first }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.advertisedPools: the pool keys an advertisement advertises, as a JSON
list: ipAddressPools, else every pool of the VRF unless ipAddressPoolSelectors picks them.
Takes a dict: adv, vrf.
*/}}
{{- define "symmetric-routing.advertisedPools" -}}
{{- if .adv.ipAddressPools }}
{{- toJson .adv.ipAddressPools }}
{{- else if .adv.ipAddressPoolSelectors }}
{{- toJson list }}
{{- else }}
{{- keys (.vrf.addressPools | default dict) | sortAlpha | toJson }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.advertisedPeers: the peer keys an advertisement announces to, as a JSON
list: peers, else every peer of the VRF (never another tenant's). Takes a dict: adv, vrf.
*/}}
{{- define "symmetric-routing.advertisedPeers" -}}
{{- .adv.peers | default (keys (.vrf.bgpPeers | default dict) | sortAlpha) | toJson }}
{{- end }}

{{/*
symmetric-routing.serviceSelectorsSupported: "true" when metallb.version is 0.16 or later,
the first MetalLB whose BGPAdvertisement has spec.serviceSelectors (an older API server
drops the field, and the advertisement then covers every service of its pools).
*/}}
{{- define "symmetric-routing.serviceSelectorsSupported" -}}
{{- semverCompare ">=0.16.0-0" (.Values.metallb.version | toString) }}
{{- end }}

{{/*
symmetric-routing.egressServiceSelectorLabel: the label the chart puts on the Service of a
LoadBalancerIP egress service ("symmetric-routing/egress-service: <namespace>-<name>", the
same suffix as OVN-Kubernetes' node label), which a per-service advertisement selects in
spec.serviceSelectors. Takes a dict: root, key, svc. Prints it as a JSON object.
*/}}
{{- define "symmetric-routing.egressServiceSelectorLabel" -}}
{{- dict "symmetric-routing/egress-service" (printf "%s-%s" (include "symmetric-routing.egressServiceNamespace" .) (include "symmetric-routing.egressServiceName" .)) | toJson }}
{{- end }}

{{/*
symmetric-routing.advertisements: the BGPAdvertisements of a VRF, as a JSON list of
{name, spec}. Each vrfs.<vrf>.bgpAdvertisements entry gives one, unless it announces the
addresses of several LoadBalancerIP egress services: OVN-Kubernetes sends each service's
replies out of the one node it picked (selectNodeFor in ovn-kubernetes
go-controller/pkg/clustermanager/egressservice), so each address must be announced from that
node alone. The entry then gives one advertisement per service, "<name>-<service key>",
narrowed by spec.serviceSelectors (metallb.version 0.16 and later), or one per pool,
"<name>-<pool key>" (before; validate/_nodes.tpl refuses a pool shared by two such services
there), each with the service's node label; pools that back no such service stay in
"<name>", announced from every node of the VRF. An advertisement narrowed to one service
names its key in "service", and each part its entry's key in "entry". An entry with one such service and other pools splits too, so
that those pools stay announced from every node. Takes a dict: root, vrfName, vrf, prefix.
*/}}
{{- define "symmetric-routing.advertisements" -}}
{{- $root := .root }}
{{- $vrfName := .vrfName }}
{{- $vrf := .vrf }}
{{- $prefix := .prefix }}
{{- $pools := $vrf.addressPools | default dict }}
{{- $peers := $vrf.bgpPeers | default dict }}
{{- $bySelector := eq (include "symmetric-routing.serviceSelectorsSupported" $root) "true" }}
{{- $objects := list }}
{{- range $key := keys ($vrf.bgpAdvertisements | default dict) | sortAlpha }}
{{- $adv := get $vrf.bgpAdvertisements $key }}
{{- $name := include "symmetric-routing.objectName" (dict "prefix" $prefix "vrf" $vrfName "key" $key "item" $adv) }}
{{- $base := pick $adv "ipAddressPoolSelectors" "serviceSelectors" "localPref" "aggregationLength" "aggregationLengthV6" }}
{{- /* MetalLB matches ipAddressPoolSelectors against every IPAddressPool of the cluster
(internal/config/config.go setBGPAdvertisementsToPools, v0.16.1): each selector is narrowed to
this VRF's own pools by their labels, or another VRF's or tenant's addresses would be announced
to this VRF's peers. validate/_pools.tpl refuses a selector that names other ones. */}}
{{- with $adv.ipAddressPoolSelectors }}
{{- $scope := include "symmetric-routing.vrfPoolLabels" (dict "root" $root "vrfName" $vrfName) | fromJson }}
{{- $scoped := list }}
{{- range . }}
{{- $scoped = append $scoped (merge (dict "matchLabels" (merge (deepCopy $scope) (.matchLabels | default dict))) .) }}
{{- end }}
{{- $_ := set $base "ipAddressPoolSelectors" $scoped }}
{{- end }}
{{- $_ := set $base "peers" (include "symmetric-routing.objectNames" (dict "prefix" $prefix "vrf" $vrfName "items" $peers "keys" (include "symmetric-routing.advertisedPeers" (dict "adv" $adv "vrf" $vrf) | fromJsonArray)) | fromJsonArray) }}
{{- with $adv.communities }}
{{- $_ := set $base "communities" . }}
{{- end }}
{{- $advertised := include "symmetric-routing.advertisedPools" (dict "adv" $adv "vrf" $vrf) | fromJsonArray }}
{{- /* the LoadBalancerIP egress services whose pool this entry announces */}}
{{- $services := list }}
{{- range $svcKey := keys ($vrf.egressServices | default dict) | sortAlpha }}
{{- $svc := get $vrf.egressServices $svcKey }}
{{- $ctx := dict "root" $root "key" $svcKey "svc" $svc "vrf" $vrf }}
{{- $poolKey := include "symmetric-routing.egressServicePool" $ctx }}
{{- if and (eq (include "symmetric-routing.sourceIPBy" $svc) "LoadBalancerIP") (has $poolKey $advertised) }}
{{- $services = append $services (dict "key" $svcKey "pool" $poolKey
  "nodeSelector" (dict "matchLabels" (dict (include "symmetric-routing.egressServiceLabel" $ctx) ""))
  "serviceSelector" (dict "matchLabels" (include "symmetric-routing.egressServiceSelectorLabel" $ctx | fromJson))) }}
{{- end }}
{{- end }}
{{- /* one service whose pool is all the entry announces keeps the entry whole; a pool
     that backs none (a Network service's) must not take that service's node label */}}
{{- $whole := or (hasKey $adv "nodeSelectors") (empty $services) (and (eq (len $services) 1) (eq (toJson $advertised) (toJson (list (first $services).pool)))) }}
{{- if $whole }}
{{- $spec := deepCopy $base }}
{{- with $advertised }}
{{- $_ := set $spec "ipAddressPools" (include "symmetric-routing.objectNames" (dict "prefix" $prefix "vrf" $vrfName "items" $pools "keys" .) | fromJsonArray) }}
{{- end }}
{{- if hasKey $adv "nodeSelectors" }}
{{- $_ := set $spec "nodeSelectors" $adv.nodeSelectors }}
{{- else if $services }}
{{- $_ := set $spec "nodeSelectors" (list (first $services).nodeSelector) }}
{{- end }}
{{- $objects = append $objects (dict "name" $name "spec" $spec) }}
{{- else }}
{{- $rest := $advertised }}
{{- $split := dict }}
{{- range $services }}
{{- $rest = without $rest .pool }}
{{- $part := $bySelector | ternary .key .pool }}
{{- $spec := get $split $part | default (deepCopy $base) }}
{{- $_ := set $spec "ipAddressPools" (include "symmetric-routing.objectNames" (dict "prefix" $prefix "vrf" $vrfName "items" $pools "keys" (list .pool)) | fromJsonArray) }}
{{- $_ := set $spec "nodeSelectors" (append ($spec.nodeSelectors | default list) .nodeSelector) }}
{{- if $bySelector }}
{{- $_ := set $spec "serviceSelectors" (list .serviceSelector) }}
{{- end }}
{{- $_ := set $split $part $spec }}
{{- end }}
{{- with $rest }}
{{- $spec := deepCopy $base }}
{{- $_ := set $spec "ipAddressPools" (include "symmetric-routing.objectNames" (dict "prefix" $prefix "vrf" $vrfName "items" $pools "keys" .) | fromJsonArray) }}
{{- $objects = append $objects (dict "name" $name "spec" $spec) }}
{{- end }}
{{- range $part := keys $split | sortAlpha }}
{{- $objects = append $objects (dict "name" (printf "%s-%s" $name $part) "spec" (get $split $part) "service" ($bySelector | ternary $part "") "entry" $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $objects }}
{{- end }}

{{/*
symmetric-routing.vrfPoolLabels: the labels every pool of a VRF carries and no other release's
or VRF's does (symmetric-routing/vrf and symmetric-routing.ownerLabels), as JSON: what narrows
an advertisement's ipAddressPoolSelectors to the VRF's own pools. Takes a dict: root, vrfName.
*/}}
{{- define "symmetric-routing.vrfPoolLabels" -}}
{{- merge (dict "symmetric-routing/vrf" .vrfName) (include "symmetric-routing.ownerLabels" .root | fromJson) | toJson }}
{{- end }}

{{/*
symmetric-routing.vrfAdvertisements: symmetric-routing.advertisements of a VRF, decoded,
made once per render and kept on the top context as
`$.symmetricRoutingAdvertisements.<vrf>` (read-only: shared), since both
templates/validate/_pools.tpl and symmetric-routing.model read them. Prints nothing. Takes
a dict: root, vrfName, vrf, prefix (the fullname).
*/}}
{{- define "symmetric-routing.vrfAdvertisements" -}}
{{- if not (hasKey .root "symmetricRoutingAdvertisements") }}
{{- $_ := set .root "symmetricRoutingAdvertisements" dict }}
{{- end }}
{{- if not (hasKey .root.symmetricRoutingAdvertisements .vrfName) }}
{{- $_ := set .root.symmetricRoutingAdvertisements .vrfName (include "symmetric-routing.advertisements" . | fromJsonArray) }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.egressServiceLabels: the labels of the LoadBalancer Service an egress
service renders (service.create), as the YAML of symmetric-routing.labels: the pool's
symmetric-routing.poolServiceLabel, which the pool's default serviceAllocation admits, the
Service's own labels, and for a LoadBalancerIP service the
symmetric-routing.egressServiceSelectorLabel that its own advertisement selects (MetalLB 0.16
and later). Takes a dict: root, key, svc, vrf, vrfName, poolName.
*/}}
{{- define "symmetric-routing.egressServiceLabels" -}}
{{- $extra := merge (include "symmetric-routing.poolServiceLabel" .poolName | fromJson) ((.svc.service | default dict).labels | default dict) }}
{{- if eq (include "symmetric-routing.sourceIPBy" .svc) "LoadBalancerIP" }}
{{- $extra = merge (include "symmetric-routing.egressServiceSelectorLabel" . | fromJson) $extra }}
{{- end }}
{{- include "symmetric-routing.labels" (dict "root" .root "vrf" .vrfName "extra" $extra) }}
{{- end }}
