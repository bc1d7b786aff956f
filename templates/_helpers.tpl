{{/*
symmetric-routing.name: the chart name, or nameOverride. Cut to 63 characters, the limit of
a label value.
*/}}
{{- define "symmetric-routing.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
symmetric-routing.fullname: the prefix of every derived object name. The release name alone
when it already holds the chart name, else "<release>-<chart>"; fullnameOverride wins.
Cut to 63 characters.
*/}}
{{- define "symmetric-routing.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.chart: "<chart>-<version>" for the helm.sh/chart label.
*/}}
{{- define "symmetric-routing.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
symmetric-routing.tenant: the tenant this release serves (values.tenant, else the release name).
*/}}
{{- define "symmetric-routing.tenant" -}}
{{- default .Release.Name .Values.tenant | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
symmetric-routing.labels: the labels every object carries, as YAML, all but
app.kubernetes.io/component (symmetric-routing.metadata adds it): the standard ones, the
tenant, the release's namespace (with app.kubernetes.io/instance it names the release that
owns a cluster-scoped object, also under Argo CD, which sets no Helm annotations), the VRF
when the object belongs to one; then extra (a Service's own labels), then commonLabels.
templates/validate/ refuses either when it names one of the chart's own labels. The only
place labels are made. Takes a dict: root, vrf and extra (optional).
*/}}
{{- define "symmetric-routing.labels" -}}
{{- $root := .root }}
{{- $own := dict
  "helm.sh/chart" (include "symmetric-routing.chart" $root)
  "app.kubernetes.io/name" (include "symmetric-routing.name" $root)
  "app.kubernetes.io/instance" $root.Release.Name
  "app.kubernetes.io/version" $root.Chart.AppVersion
  "app.kubernetes.io/managed-by" $root.Release.Service
  "symmetric-routing/tenant" (include "symmetric-routing.tenant" $root)
  "symmetric-routing/release-namespace" $root.Release.Namespace }}
{{- with .vrf }}
{{- $_ := set $own "symmetric-routing/vrf" . }}
{{- end }}
{{- merge $own (.extra | default dict) ($root.Values.commonLabels | default dict) | toYaml }}
{{- end }}

{{/*
symmetric-routing.objectLabels: an object's labels: app.kubernetes.io/component, then
symmetric-routing.labels. Printing the component line before YAML made once keeps labels
off the per-object path of toYaml, the costliest call of a render. Takes a dict: component,
labels (the YAML of symmetric-routing.labels).
*/}}
{{- define "symmetric-routing.objectLabels" -}}
app.kubernetes.io/component: {{ .component }}
{{ .labels }}
{{- end }}

{{/*
symmetric-routing.metadata: name, optional namespace, labels and annotations of an object.
Takes a dict: name, namespace (optional), component (the app.kubernetes.io/component
label), labels (the YAML of symmetric-routing.labels; the release's own from
symmetric-routing.model when left out, which then needs root), annotations (optional, as
YAML), root (for commonAnnotations, added under the object's own, which win: the Helm hook
annotations must stay as the chart sets them).
*/}}
{{- define "symmetric-routing.metadata" -}}
{{- $labels := .labels }}
{{- if not $labels }}
{{- include "symmetric-routing.model" .root }}
{{- $labels = .root.symmetricRouting.labels }}
{{- end -}}
name: {{ .name }}
{{- with .namespace }}
namespace: {{ . }}
{{- end }}
labels:
  {{- include "symmetric-routing.objectLabels" (dict "component" .component "labels" $labels) | nindent 2 }}
{{- $annotations := .annotations }}
{{- $common := dict }}
{{- with .root }}
{{- $common = .Values.commonAnnotations | default dict }}
{{- end }}
{{- if $common }}
{{- $annotations = merge (fromYaml (.annotations | default "")) $common | toYaml }}
{{- end }}
{{- with $annotations }}
annotations:
  {{- . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.dropRemovedItems: takes the map items set to null out of .Values (a VRF,
or a port, peer, pool, advertisement or egress service of one; a BFD profile, a community
alias, a node of a VRF's nodes table or a port of a node), so that a later values file can remove an entry of an earlier one:
`vrfs: {media: null}`. Helm drops a null only where the chart has a default, and these maps
have none. templates/validate/values.yaml calls it first, before any template reads them.
symmetric-routing.dropNulls does it for one map, in place. The VRFs go first, so that no
null VRF is asked for its maps.
*/}}
{{- define "symmetric-routing.dropRemovedItems" -}}
{{- $v := .Values }}
{{- range $map := list ($v.bfdProfiles | default dict) ($v.communities.aliases | default dict) ($v.vrfs | default dict) }}
{{- include "symmetric-routing.dropNulls" $map }}
{{- end }}
{{- range $vrf := values ($v.vrfs | default dict) }}
{{- range $field := list "ports" "nodes" "bgpPeers" "addressPools" "bgpAdvertisements" "egressServices" }}
{{- include "symmetric-routing.dropNulls" (get $vrf $field | default dict) }}
{{- end }}
{{- range $node := values ($vrf.nodes | default dict) }}
{{- include "symmetric-routing.dropNulls" ($node | default dict) }}
{{- end }}
{{- end }}
{{- end }}

{{- define "symmetric-routing.dropNulls" -}}
{{- range $key, $item := . }}
{{- if kindIs "invalid" $item }}
{{- $_ := unset $ $key }}
{{- end }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.model: what several templates derive from the same values, computed on
first use and kept for the rest of the render on the top context, which Helm hands to every
template of the chart: the fullname, the release's labels, the cluster's CIDRs (so `lookup`
asks the cluster once), and per VRF its labels, the label selector of the nodes that carry
it (symmetric-routing.vrfNodeSelector) and its policies: one, or one per node of its `nodes`
table, each with its name, nodeSelector and desiredState (and its YAML), which the
NodeNetworkConfigurationPolicies and the hooks' plan both carry.
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
{{- range $node := keys . | sortAlpha }}
{{- $policy := dict "name" (printf "%s-%s" $policyName $node) "node" $node
  "nodeSelector" (merge (dict "kubernetes.io/hostname" $node) $selector) }}
{{- include "symmetric-routing.desiredState" (dict "root" $ "vrfName" $vrfName "vrf" $vrf "networks" $networks "addresses" (get $vrf.nodes $node) "shared" $shared "into" $policy) }}
{{- $policies = append $policies $policy }}
{{- end }}
{{- else }}
{{- $policy := dict "name" $policyName "node" "" "nodeSelector" $selector }}
{{- include "symmetric-routing.desiredState" (dict "root" $ "vrfName" $vrfName "vrf" $vrf "networks" $networks "shared" $shared "into" $policy) }}
{{- $policies = list $policy }}
{{- end }}
{{- $_ := set $vrfs $vrfName (dict
  "policies" $policies
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
symmetric-routing.objectName: the object name of a map item: its explicit `name`, else
"<fullname>-<vrf>-<key>" (the vrf part left out for items that belong to no VRF).
Takes a dict: key, item, optional vrf, and prefix (the fullname, computed once by callers
that name many objects).
*/}}
{{- define "symmetric-routing.objectName" -}}
{{- if .item.name }}
{{- .item.name }}
{{- else if .vrf }}
{{- printf "%s-%s-%s" .prefix .vrf .key }}
{{- else }}
{{- printf "%s-%s" .prefix .key }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.policyName: the NodeNetworkConfigurationPolicy name of a VRF
(policy.name, else "<fullname>-<vrf>"). Takes a dict: vrfName, vrf, and prefix (the fullname).
*/}}
{{- define "symmetric-routing.policyName" -}}
{{- $policy := .vrf.policy | default dict }}
{{- if $policy.name }}
{{- $policy.name }}
{{- else }}
{{- printf "%s-%s" .prefix .vrfName }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.passwordSecretName: the kubernetes.io/basic-auth Secret the chart makes in
MetalLB's namespace for a peer's `password`: "<release namespace>-<peer>-bgp-password", so
that same-named releases of two namespaces do not share it. Takes a dict: root, peer (the
BGPPeer's name).
*/}}
{{- define "symmetric-routing.passwordSecretName" -}}
{{- printf "%s-%s-bgp-password" .root.Release.Namespace .peer }}
{{- end }}

{{/*
symmetric-routing.policyNames: the names of the release's NodeNetworkConfigurationPolicies,
as a sorted JSON list, read from symmetric-routing.model (where the policy template takes
them), for the RBAC rules that may touch only these policies by resourceNames.
*/}}
{{- define "symmetric-routing.policyNames" -}}
{{- include "symmetric-routing.model" . }}
{{- $names := list }}
{{- range $derived := values .symmetricRouting.vrfs }}
{{- range $derived.policies }}
{{- $names = append $names .name }}
{{- end }}
{{- end }}
{{- $names | sortAlpha | uniq | toJson }}
{{- end }}

{{/*
symmetric-routing.egressServiceName / .egressServiceNamespace: the LoadBalancer Service an
EgressService modifies; the EgressService takes the same name and namespace.
Takes a dict: root, key, svc.
*/}}
{{- define "symmetric-routing.egressServiceName" -}}
{{- .svc.name | default .key }}
{{- end }}

{{- define "symmetric-routing.egressServiceNamespace" -}}
{{- .svc.namespace | default .root.Release.Namespace }}
{{- end }}

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
names its key in "service". Takes a dict: root, vrfName, vrf, prefix.
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
{{- if or (hasKey $adv "nodeSelectors") (le (len $services) 1) }}
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
{{- $objects = append $objects (dict "name" (printf "%s-%s" $name $part) "spec" (get $split $part) "service" ($bySelector | ternary $part "")) }}
{{- end }}
{{- end }}
{{- end }}
{{- toJson $objects }}
{{- end }}

{{/*
symmetric-routing.objectNames: the object names of some map items of a VRF, as a JSON list,
in the order of their keys. Takes a dict: prefix, vrf (its name), keys, items (the map).
*/}}
{{- define "symmetric-routing.objectNames" -}}
{{- $names := list }}
{{- range .keys }}
{{- $names = append $names (include "symmetric-routing.objectName" (dict "prefix" $.prefix "vrf" $.vrf "key" . "item" (get $.items .))) }}
{{- end }}
{{- toJson $names }}
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
symmetric-routing.claimName: registers an object name for its owner (a value path) in the
names dict and returns "", or returns the value path that already holds the name. Takes a
dict: names, key ("<Kind>/<name>"), owner.
*/}}
{{- define "symmetric-routing.claimName" -}}
{{- if hasKey .names .key }}
{{- get .names .key }}
{{- else }}
{{- $_ := set .names .key .owner }}
{{- end }}
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
symmetric-routing.hooksPlan: what the release is about to create, as the JSON the hooks
read (hooks/symrouting/plan.py): VRFs with their policy's desiredState, peers, pools,
advertisements and egress services, the cluster CIDRs the rules cover, the kinds rendered.
Rendered from the same values and helpers as the objects themselves, so the preflight checks,
the cleanup removes and the test verifies exactly what is applied.
*/}}
{{- define "symmetric-routing.hooksPlan" -}}
{{- $root := . }}
{{- include "symmetric-routing.model" . }}
{{- $model := .symmetricRouting }}
{{- $fullname := $model.fullname }}
{{- $v := .Values }}
{{- $vrfs := list }}
{{- $kinds := list }}
{{- $has := dict }}
{{- range $vrfName, $vrf := $v.vrfs }}
{{- $_ := set $has "NodeNetworkConfigurationPolicy" true }}
{{- $pools := list }}
{{- range $key := keys ($vrf.addressPools | default dict) | sortAlpha }}
{{- $pool := get $vrf.addressPools $key }}
{{- $_ := set $has "IPAddressPool" true }}
{{- $pools = append $pools (dict "name" (include "symmetric-routing.objectName" (dict "prefix" $fullname "vrf" $vrfName "key" $key "item" $pool)) "addresses" $pool.addresses) }}
{{- end }}
{{- $peers := list }}
{{- range $key := keys ($vrf.bgpPeers | default dict) | sortAlpha }}
{{- $peer := get $vrf.bgpPeers $key }}
{{- $_ := set $has "BGPPeer" true }}
{{- $peers = append $peers (dict
  "name" (include "symmetric-routing.objectName" (dict "prefix" $fullname "vrf" $vrfName "key" $key "item" $peer))
  "address" ($peer.peerAddress | default $peer.interface | default "")
  "myASN" (int64 (hasKey $peer "myASN" | ternary $peer.myASN $vrf.myASN))
  "peerASN" (hasKey $peer "peerASN" | ternary (toString (int64 $peer.peerASN)) ($peer.dynamicASN | default ""))) }}
{{- with ($peer.passwordSecret | default dict).name }}
{{- $_ := set (last $peers) "passwordSecret" . }}
{{- end }}
{{- end }}
{{- $advertisements := list }}
{{- $narrowed := dict }}
{{- range include "symmetric-routing.advertisements" (dict "root" $root "vrfName" $vrfName "vrf" $vrf "prefix" $fullname) | fromJsonArray }}
{{- $_ := set $has "BGPAdvertisement" true }}
{{- $advertisements = append $advertisements (dict "name" .name "pools" (.spec.ipAddressPools | default list) "peers" .spec.peers) }}
{{- with .service }}
{{- $_ := set $narrowed . true }}
{{- end }}
{{- end }}
{{- $egress := list }}
{{- range $key := keys ($vrf.egressServices | default dict) | sortAlpha }}
{{- $svc := get $vrf.egressServices $key }}
{{- $ctx := dict "root" $root "key" $key "svc" $svc }}
{{- $_ := set $has "EgressService" true }}
{{- $poolKey := include "symmetric-routing.egressServicePool" (dict "svc" $svc "vrf" $vrf) }}
{{- $poolName := "" }}
{{- if $poolKey }}
{{- $poolName = include "symmetric-routing.objectName" (dict "prefix" $fullname "vrf" $vrfName "key" $poolKey "item" (get $vrf.addressPools $poolKey)) }}
{{- end }}
{{- $entry := dict "namespace" (include "symmetric-routing.egressServiceNamespace" $ctx) "name" (include "symmetric-routing.egressServiceName" $ctx) "sourceIPBy" (include "symmetric-routing.sourceIPBy" $svc) "addressPool" $poolName }}
{{- if hasKey $narrowed $key }}
{{- /* the label its own advertisement selects: the Service must carry it */}}
{{- $_ := set $entry "serviceLabels" (include "symmetric-routing.egressServiceSelectorLabel" $ctx | fromJson) }}
{{- end }}
{{- $egress = append $egress $entry }}
{{- end }}
{{- $derived := get $model.vrfs $vrfName }}
{{- $policies := list }}
{{- range $derived.policies }}
{{- $policies = append $policies (omit . "desiredStateYaml") }}
{{- end }}
{{- $vrfs = append $vrfs (dict "name" $vrfName "tableId" (int64 $vrf.tableId) "nodeSelector" (($vrf.policy | default dict).nodeSelector | default dict) "policies" $policies "pools" $pools "peers" $peers "advertisements" $advertisements "egressServices" $egress) }}
{{- end }}
{{- if $v.bfdProfiles }}
{{- $_ := set $has "BFDProfile" true }}
{{- end }}
{{- if $v.communities.aliases }}
{{- $_ := set $has "Community" true }}
{{- end }}
{{- $apis := dict "NodeNetworkConfigurationPolicy" "nmstate.io/v1" "BGPPeer" "metallb.io/v1beta2" "IPAddressPool" "metallb.io/v1beta1" "BGPAdvertisement" "metallb.io/v1beta1" "BFDProfile" "metallb.io/v1beta1" "Community" "metallb.io/v1beta1" "EgressService" "k8s.ovn.org/v1" }}
{{- range $kind := keys $has | sortAlpha }}
{{- $api := get $apis $kind }}
{{- $kinds = append $kinds (dict "group" (dir $api) "version" (base $api) "kind" $kind) }}
{{- end }}
{{- $plan := dict
  "release" (dict "name" .Release.Name "namespace" .Release.Namespace)
  "platform" $v.platform
  "metallbNamespace" $v.metallb.namespace
  "metallbVersion" (toString $v.metallb.version)
  "cluster" $model.networks
  "vrfs" $vrfs
  "kinds" $kinds
  "cleanupLease" (include "symmetric-routing.cleanupLease" .) }}
{{- with $v.communities.aliases }}
{{- $_ := set $plan "communities" (keys . | sortAlpha) }}
{{- end }}
{{- toJson $plan }}
{{- end }}

{{/*
symmetric-routing.shortName: a name of at most 63 characters (a Job's name becomes its pods'
job-name label value). A longer one keeps its first 54 characters and gets "-" and the first
8 hex digits of its sha256, as Bitnami's common.names helpers do, so that "<long>-preflight"
and "<long>-prune" stay two names instead of being cut to one.
*/}}
{{- define "symmetric-routing.shortName" -}}
{{- if le (len .) 63 }}
{{- . }}
{{- else }}
{{- printf "%s-%s" (trunc 54 . | trimSuffix "-") (sha256sum . | trunc 8) }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.hooksName: the name of the hooks' ConfigMap.
symmetric-routing.hooksServiceAccountName: the ServiceAccount that the pods of a hook role
(preflight, cleanup, verify) run as and that its bindings name: one per role, so that no
hook holds another's rights (in pre-upgrade the preflight and the prune run side by side);
hooks.serviceAccount.name, when set, for all of them. Takes a dict: root, role.
symmetric-routing.hooksClusterName: the name of a hook's cluster-scoped RBAC, and of its Role
in MetalLB's namespace; it holds the release namespace, since two namespaces may hold releases
of one name. Takes a dict: root, role.
*/}}
{{- define "symmetric-routing.hooksName" -}}
{{- include "symmetric-routing.shortName" (printf "%s-hooks" (include "symmetric-routing.fullname" .)) }}
{{- end }}

{{- define "symmetric-routing.hooksServiceAccountName" -}}
{{- .root.Values.hooks.serviceAccount.name | default (include "symmetric-routing.shortName" (printf "%s-%s" (include "symmetric-routing.fullname" .root) .role)) }}
{{- end }}

{{/*
symmetric-routing.hookRoles: the hook roles whose Jobs or Pod render, with the Helm hooks of
each, as JSON: {"preflight": "pre-install,pre-upgrade", "cleanup": ..., "verify": "test"}.
*/}}
{{- define "symmetric-routing.hookRoles" -}}
{{- $roles := dict }}
{{- if and .Values.vrfs .Values.preflight.enabled }}
{{- $_ := set $roles "preflight" "pre-install,pre-upgrade" }}
{{- end }}
{{- with include "symmetric-routing.cleanupHooks" . }}
{{- $_ := set $roles "cleanup" . }}
{{- end }}
{{- if and .Values.vrfs .Values.tests.enabled }}
{{- $_ := set $roles "verify" "test" }}
{{- end }}
{{- toJson $roles }}
{{- end }}

{{- define "symmetric-routing.hooksClusterName" -}}
{{- printf "%s-%s-%s" .root.Release.Namespace (include "symmetric-routing.fullname" .root) .role }}
{{- end }}

{{/*
symmetric-routing.cleanupLease: the name of the coordination.k8s.io Lease in MetalLB's
namespace that every cleanup of every release of this chart holds while it runs
(hooks/symrouting/lease.py). Fixed, not derived from the release: all releases must find it.
*/}}
{{- define "symmetric-routing.cleanupLease" -}}
symmetric-routing-cleanup
{{- end }}

{{/*
symmetric-routing.cleanupHooks: the Helm hooks of the cleanup Jobs that are enabled
("pre-upgrade,pre-rollback", "pre-delete", both comma-joined, or empty). The prune runs also
when the new values hold no VRF: an upgrade that drops a tenant's last VRF must take it off
the nodes too. A rollback runs the prune of the revision it goes back to (helm
pkg/action/rollback.go: the target release takes the old revision's Hooks, and execHook runs
HookPreRollback on it), whose plan is what the rollback is about to apply.
*/}}
{{- define "symmetric-routing.cleanupHooks" -}}
{{- $hooks := list }}
{{- if .Values.cleanup.onUpgrade }}
{{- $hooks = append $hooks "pre-upgrade,pre-rollback" }}
{{- end }}
{{- if and .Values.cleanup.onUninstall .Values.vrfs }}
{{- $hooks = append $hooks "pre-delete" }}
{{- end }}
{{- join "," $hooks }}
{{- end }}

{{/*
symmetric-routing.hookPhases: the Helm hooks the shared hook objects (the ConfigMap; the one
ServiceAccount that hooks.serviceAccount.name names) serve: the union of the hook roles'
hooks (symmetric-routing.hookRoles). Empty when no Job is enabled.
*/}}
{{- define "symmetric-routing.hookPhases" -}}
{{- $roles := include "symmetric-routing.hookRoles" . | fromJson }}
{{- $phases := list }}
{{- range $role := list "preflight" "cleanup" "verify" }}
{{- with get $roles $role }}
{{- $phases = concat $phases (splitList "," .) }}
{{- end }}
{{- end }}
{{- $phases | uniq | join "," }}
{{- end }}

{{/*
symmetric-routing.hookAnnotations: Helm hook annotations of a hook object. Takes a dict:
hooks (e.g. "pre-install,pre-upgrade"), weight, and deletePolicy. The default, for the hooks'
rights and code (ServiceAccount, Roles, bindings, ConfigMap), also deletes them when a hook
fails, so that no pod can run as the ServiceAccount after a failed prune or teardown. Helm
(pkg/action/hooks.go, execHookWithDelayedShutdown: 3.19 and later, and 4) deletes the hooks
that ran before a failed one by their hook-succeeded policy and the failed one by its
hook-failed policy; Argo CD deletes every hook of a failed sync that has HookFailed
(gitops-engine pkg/sync/sync_context.go, hooksPendingDeletionFailed). The Jobs pass before-hook-creation,hook-succeeded: a
failed Job and its pod stay for their logs until the next attempt. Weights order them: the
ServiceAccount (-30), Roles (-25), bindings (-20) and ConfigMap (-10) exist before any Job
(0 and 10). Argo CD maps pre-install and pre-upgrade to PreSync, pre-delete to PreDelete,
and weights to sync waves. No argocd.argoproj.io/hook annotation is added: with one present,
Argo CD ignores every Helm hook of the chart.
*/}}
{{- define "symmetric-routing.hookAnnotations" -}}
helm.sh/hook: {{ .hooks }}
helm.sh/hook-delete-policy: {{ .deletePolicy | default "before-hook-creation,hook-succeeded,hook-failed" }}
helm.sh/hook-weight: {{ .weight | quote }}
{{- end }}

{{/*
symmetric-routing.hookJob: a hook Job running `python3 -m symrouting <args>`; its pod is
symmetric-routing.hookPodSpec. hooks.jobAnnotations go on the Job, under its hook
annotations; hooks.podLabels and hooks.podAnnotations on its pod, under the chart's own
labels. Takes a dict: root, name (suffix), hooks, weight, component, args (list), deadline
(seconds).
*/}}
{{- define "symmetric-routing.hookJob" -}}
{{- $root := .root }}
{{- include "symmetric-routing.model" $root }}
{{- $annotations := include "symmetric-routing.hookAnnotations" (dict "hooks" .hooks "weight" .weight "deletePolicy" "before-hook-creation,hook-succeeded") }}
{{- with $root.Values.hooks.jobAnnotations }}
{{- $annotations = merge (fromYaml $annotations) . | toYaml }}
{{- end }}
apiVersion: batch/v1
kind: Job
metadata:
  {{- include "symmetric-routing.metadata" (dict "root" $root "name" (include "symmetric-routing.shortName" (printf "%s-%s" (include "symmetric-routing.fullname" $root) .name)) "namespace" $root.Release.Namespace "component" .component "annotations" $annotations) | nindent 2 }}
spec:
  backoffLimit: {{ $root.Values.hooks.backoffLimit }}
  activeDeadlineSeconds: {{ int64 .deadline }}
  template:
    metadata:
      {{- include "symmetric-routing.hookPodMetadata" (dict "root" $root "component" .component) | nindent 6 }}
    spec:
      {{- include "symmetric-routing.hookPodSpec" . | nindent 6 }}
{{- end }}

{{/*
symmetric-routing.hookPodMetadata: labels and annotations of a hook pod: the chart's labels
over hooks.podLabels (the hooks and `kubectl -l` find pods by the chart's), and
hooks.podAnnotations, e.g. to keep a mesh sidecar out of a pod that must end. Takes a dict:
root, component, annotations (optional YAML, which wins: a test Pod's hook annotations).
*/}}
{{- define "symmetric-routing.hookPodMetadata" -}}
{{- $hooks := .root.Values.hooks }}
{{- $own := include "symmetric-routing.objectLabels" (dict "component" .component "labels" .root.symmetricRouting.labels) }}
{{- $labels := $own }}
{{- with $hooks.podLabels }}
{{- $labels = merge (fromYaml $own) . | toYaml }}
{{- end }}
{{- $annotations := merge (fromYaml (.annotations | default "")) ($hooks.podAnnotations | default dict) -}}
labels:
  {{- $labels | nindent 2 }}
{{- with $annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.hookPodSpec: the pod of a hook (Job or test Pod) running
`python3 -m symrouting <args> --plan=...` from the hooks ConfigMap on a stock Python image.
It meets the restricted Pod Security Standard and OpenShift's restricted-v2 (no fixed UID
there), with a read-only root filesystem. Takes a dict: root, name, component (the hook
role, whose ServiceAccount it runs as), args (list).
*/}}
{{- define "symmetric-routing.hookPodSpec" -}}
{{- $root := .root }}
{{- $settings := $root.Values.hooks }}
{{- $mount := "/opt/symrouting" -}}
serviceAccountName: {{ include "symmetric-routing.hooksServiceAccountName" (dict "root" $root "role" .component) }}
automountServiceAccountToken: true
restartPolicy: Never
{{- with $settings.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $settings.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $settings.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $settings.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $settings.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  runAsNonRoot: true
  {{- if ne $root.Values.platform "openshift" }}
  {{- /* int64: Helm reads numbers as floats, which print as 1e+09 */}}
  runAsUser: {{ int64 $settings.runAsUser }}
  runAsGroup: {{ int64 $settings.runAsUser }}
  {{- end }}
  seccompProfile:
    type: RuntimeDefault
containers:
  - name: {{ .name }}
    image: {{ include "symmetric-routing.image" $root | quote }}
    imagePullPolicy: {{ $settings.image.pullPolicy }}
    command:
      - python3
      - -m
      - symrouting
      {{- range .args }}
      - {{ . }}
      {{- end }}
      - --plan={{ $mount }}/plan.json
      - --request-timeout={{ int64 $settings.requestTimeoutSeconds }}
      - --deadline={{ int64 $settings.retryDeadlineSeconds }}
    env:
      - name: PYTHONPATH
        value: {{ $mount }}
      - name: PYTHONDONTWRITEBYTECODE
        value: "1"
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities:
        drop: [ALL]
    resources:
      {{- toYaml $settings.resources | nindent 6 }}
    volumeMounts:
      - name: code
        mountPath: {{ $mount }}
        readOnly: true
volumes:
  - name: code
    configMap:
      name: {{ include "symmetric-routing.hooksName" $root }}
      items:
        - key: plan.json
          path: plan.json
        {{- range $path, $_ := $root.Files.Glob "hooks/symrouting/*.py" }}
        - key: {{ base $path }}
          path: symrouting/{{ base $path }}
        {{- end }}
{{- end }}

{{/*
symmetric-routing.image: the hook image, "registry/repository:tag@digest": the digest pins
it (the tag is then only read by people), without a digest the tag does (mirrors that do
not keep digests). global.imageRegistry, when set, replaces hooks.image.registry. A tag
set to null (Helm then drops the key) and no digest leave no version: that fails here, as
the schema cannot see a dropped key. Takes the root.
*/}}
{{- define "symmetric-routing.image" -}}
{{- $image := .Values.hooks.image }}
{{- $ref := $image.repository }}
{{- with (.Values.global | default dict).imageRegistry | default $image.registry }}
{{- $ref = printf "%s/%s" . $ref }}
{{- end }}
{{- with $image.tag }}
{{- $ref = printf "%s:%s" $ref (toString .) }}
{{- end }}
{{- if $image.digest }}
{{- $ref = printf "%s@%s" $ref $image.digest }}
{{- else if not $image.tag }}
{{- fail "hooks.image.tag: no tag and no hooks.image.digest, so the hook image has no version; set hooks.image.tag (e.g. \"3.13-slim\") or hooks.image.digest (\"sha256:...\")" }}
{{- end }}
{{- $ref }}
{{- end }}

{{/*
symmetric-routing.desiredState: the nmstate desiredState of a VRF's policy: the VRF
interface, its ports with their addresses, the routes of the VRF table, and the route
rules that keep the cluster's own CIDRs on the main table (254), so that pods and services
stay reachable from the VRF. Takes a dict: root, vrfName, vrf, networks (the JSON of
symmetric-routing.clusterNetworks, decoded), addresses (a node's entry of the VRF's `nodes`
table, for a per-node policy), shared (a dict the VRF's policies share, where the first
keeps what does not differ from node to node), and into: a dict whose desiredState (for the
plan) and desiredStateYaml (for the policy) it sets, since a helper returns only text and
decoding it again for every policy would cost more than building the state.
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
     (nmstate rust/src/lib/ip.rs: auto-route-table-id, auto-dns) */}}
{{- $ip := dict "enabled" true "dhcp" true "auto-dns" false "auto-route-table-id" $tableId }}
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
{{- $desiredState := merge (dict "interfaces" (concat (list $shared.head) $portItems $shared.extras)) $shared.rest }}
{{- $_ := set .into "desiredState" $desiredState }}
{{- /* the same text toYaml would print for the whole state: keys sorted, so interfaces
     come before route-rules and routes, and a list is printed item by item */}}
{{- $_ := set .into "desiredStateYaml" (printf "interfaces:\n%s\n%s%s%s" $shared.yaml.head (toYaml $portItems) $shared.yaml.extras $shared.yaml.rest) }}
{{- end }}
