{{/*
_names.tpl: names and labels: the chart's, the release's and each object's name (cut to
the limits that read them), the labels from one helper, and the metadata every object carries.
*/}}

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
place labels are made. Takes a dict: root, vrf and extra (optional). The standard ones are
made once per render and kept on root as symmetricRoutingLabels (it runs once per VRF and
object that has labels of its own).
*/}}
{{- define "symmetric-routing.labels" -}}
{{- $root := .root }}
{{- if not (hasKey $root "symmetricRoutingLabels") }}
{{- $_ := set $root "symmetricRoutingLabels" (merge (dict
  "helm.sh/chart" (include "symmetric-routing.chart" $root)
  "app.kubernetes.io/name" (include "symmetric-routing.name" $root)
  "app.kubernetes.io/version" $root.Chart.AppVersion
  "app.kubernetes.io/managed-by" $root.Release.Service
  "symmetric-routing/tenant" (include "symmetric-routing.tenant" $root))
  (include "symmetric-routing.ownerLabels" $root | fromJson)) }}
{{- end }}
{{- $own := merge dict $root.symmetricRoutingLabels }}
{{- with .vrf }}
{{- $_ := set $own "symmetric-routing/vrf" . }}
{{- end }}
{{- merge $own (.extra | default dict) ($root.Values.commonLabels | default dict) | toYaml }}
{{- end }}

{{/*
symmetric-routing.ownerLabels: the two labels that name the release owning an object, as
JSON: app.kubernetes.io/instance (the release name) and symmetric-routing/release-namespace.
The hooks take an object for the release's own by them (hooks/symrouting/gather.py, owner_of), and
the release's admission policy lets the hooks write only objects that carry them.
*/}}
{{- define "symmetric-routing.ownerLabels" -}}
{{- dict "app.kubernetes.io/instance" .Release.Name "symmetric-routing/release-namespace" .Release.Namespace | toJson }}
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
(policy.name, else "<fullname>-<vrf>" cut by symmetric-routing.shortName: nmstate labels
each enactment nmstate.io/policy=<policy name>, a label value of at most 63 characters,
kubernetes-nmstate api/shared/nodenetworkconfigurationenactment_types.go v0.86.0; a longer
policy.name is refused in validate/_names.tpl). Takes a dict: vrfName, vrf, and prefix (the
fullname).
*/}}
{{- define "symmetric-routing.policyName" -}}
{{- $policy := .vrf.policy | default dict }}
{{- if $policy.name }}
{{- $policy.name }}
{{- else }}
{{- include "symmetric-routing.shortName" (printf "%s-%s" .prefix .vrfName) }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.nodePolicyName: the policy of one node of a VRF's `nodes` table:
"<policy name>-<node>", cut to 54 characters, then "-" and the first 8 hex digits of the
sha256 of the policy name and the node apart ("<policy>/<node>"). The hash keeps two pairs
that join alike (VRF "a" with node "b-c", VRF "a-b" with node "c") two names, and the name
within the 63 characters of the enactments' nmstate.io/policy label. Takes a dict: policy
(symmetric-routing.policyName), node.
*/}}
{{- define "symmetric-routing.nodePolicyName" -}}
{{- printf "%s-%s" (printf "%s-%s" .policy .node | trunc 54 | trimSuffix "-" | trimSuffix ".") (printf "%s/%s" .policy .node | sha256sum | trunc 8) }}
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
them), for the RBAC rules that may touch only these policies by resourceNames. Each once by
the keys of a dict: sprig's uniq compares every pair (1,000 policies: half a million).
*/}}
{{- define "symmetric-routing.policyNames" -}}
{{- include "symmetric-routing.model" . }}
{{- $names := dict }}
{{- range $derived := values .symmetricRouting.vrfs }}
{{- range $derived.policies }}
{{- $_ := set $names .name true }}
{{- end }}
{{- end }}
{{- keys $names | sortAlpha | toJson }}
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
symmetric-routing.poolServiceLabel: the Service label a pool of the release admits by
default, as a JSON object: "symmetric-routing/address-pool: <pool name>" (cut with
symmetric-routing.shortName, a label value holds 63 characters). A pool that sets no
serviceAllocation gets one selecting it, so that MetalLB gives its addresses to no other
Service, whatever it asks for (metallb internal/allocator/allocator.go v0.15.3 and v0.16.1:
Assign and every allocation path check isPoolCompatibleWithService, and Allocate skips a
pool with a serviceAllocation). Takes the pool's object name.
*/}}
{{- define "symmetric-routing.poolServiceLabel" -}}
{{- dict "symmetric-routing/address-pool" (include "symmetric-routing.shortName" .) | toJson }}
{{- end }}

{{/*
symmetric-routing.nearKeys: the keys of .among that look like a misspelling of .key, as a
JSON list, closest first: within two edits (Levenshtein: insert, delete or replace one
character), and not a sibling that differs only in digits (tor-1 is no typo of tor-2).
For the messages that say "did you mean ...?".
*/}}
{{- define "symmetric-routing.nearKeys" -}}
{{- $key := .key }}
{{- $byDistance := dict }}
{{- range $other := .among }}
{{- if and (ne $other $key) (ne (regexReplaceAll "[0-9]" $other "") (regexReplaceAll "[0-9]" $key "")) }}
{{- $distance := include "symmetric-routing.editDistance" (dict "a" $key "b" $other) | int }}
{{- if le $distance 2 }}
{{- $_ := set $byDistance (printf "%d/%s" $distance $other) $other }}
{{- end }}
{{- end }}
{{- end }}
{{- $near := list }}
{{- range keys $byDistance | sortAlpha }}
{{- $near = append $near (get $byDistance .) }}
{{- end }}
{{- toJson $near }}
{{- end }}

{{/*
symmetric-routing.editDistance: the Levenshtein distance of .a and .b (one row at a time).
*/}}
{{- define "symmetric-routing.editDistance" -}}
{{- $b := splitList "" .b }}
{{- $previous := until (add (len $b) 1 | int) }}
{{- range $i, $charA := splitList "" .a }}
{{- $row := list (add $i 1) }}
{{- range $j, $charB := $b }}
{{- $replace := add (index $previous $j) (ternary 0 1 (eq $charA $charB)) }}
{{- $row = append $row (min (add (index $row $j) 1) (add (index $previous (add $j 1)) 1) $replace) }}
{{- end }}
{{- $previous = $row }}
{{- end }}
{{- last $previous }}
{{- end }}
