{{/*
_hooks.tpl: hooks: the plan handed to the hook Jobs, their names, RBAC and Lease, and the
Job and pod spec every hook shares.
*/}}

{{/*
symmetric-routing.hooksPlan: what the release is about to create, as the JSON the hooks
read (hooks/symrouting/plan.py): VRFs with their policies' desiredState (what they share
once as policyState, each policy's ports beside its name), peers, pools,
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
{{- $poolName := include "symmetric-routing.objectName" (dict "prefix" $fullname "vrf" $vrfName "key" $key "item" $pool) }}
{{- $poolEntry := dict "name" $poolName "addresses" $pool.addresses }}
{{- if not (hasKey $pool "serviceAllocation") }}
{{- /* the label value its default serviceAllocation admits (templates/ipaddresspool.yaml),
under the plan's poolServiceLabel key: true where it is the pool's name (most are) */}}
{{- $value := values (include "symmetric-routing.poolServiceLabel" $poolName | fromJson) | first }}
{{- $_ := set $poolEntry "admits" (eq $value $poolName | ternary true $value) }}
{{- end }}
{{- $pools = append $pools $poolEntry }}
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
{{- if hasKey $peer "localASN" }}
{{- $_ := set (last $peers) "localASN" (int64 $peer.localASN) }}
{{- end }}
{{- with $peer.sourceAddress }}
{{- $_ := set (last $peers) "sourceAddress" . }}
{{- end }}
{{- /* FRR-K8s v0.0.25 unsets a hold time of 180s, a keepalive of 60s and a connect time of
60s (internal/controller/merge.go cleanNeighborDefaults, which validateRouterConfig runs on
every router) and writes `timers` only with both of the first two (internal/frr/templates/
neighborsession.tmpl): a pair with one default is lost whole. The pair is MetalLB's
(symmetric-routing.peerTimers); FRR-K8s counts whole seconds. */}}
{{- $lost := list }}
{{- with include "symmetric-routing.peerTimers" $peer | fromJson }}
{{- $ka := int64 .keepaliveMs }}
{{- $hold := int64 .holdMs }}
{{- if ne (eq (div $hold 1000) 180) (eq (div $ka 1000) 60) }}
{{- $lost = append $lost (printf "keepaliveTime %ds and holdTime %ds" (div $ka 1000) (div $hold 1000)) }}
{{- end }}
{{- end }}
{{- if and $peer.connectTime (eq (include "symmetric-routing.durationMs" $peer.connectTime | int64) 60000) }}
{{- $lost = append $lost "connectTime 60s" }}
{{- end }}
{{- with $lost }}
{{- $_ := set (last $peers) "frrK8sDrops" . }}
{{- end }}
{{- /* the values' own nodeSelectors, [] for every node; unset: the VRF's nodes (bgppeer.yaml) */}}
{{- if hasKey $peer "nodeSelectors" }}
{{- $_ := set (last $peers) "nodeSelectors" ($peer.nodeSelectors | default list) }}
{{- end }}
{{- end }}
{{- $peerNames := list }}
{{- range $peers }}
{{- $peerNames = append $peerNames .name }}
{{- end }}
{{- $advertisements := list }}
{{- $narrowed := dict }}
{{- $derived := get $model.vrfs $vrfName }}
{{- range $derived.advertisements }}
{{- $_ := set $has "BGPAdvertisement" true }}
{{- $advertisement := dict "name" .name "pools" (.spec.ipAddressPools | default list) }}
{{- /* no peers: every peer of the VRF, as most advertisements (plan.py reads it so) */}}
{{- if ne (toJson .spec.peers) (toJson $peerNames) }}
{{- $_ := set $advertisement "peers" .spec.peers }}
{{- end }}
{{- $advertisements = append $advertisements $advertisement }}
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
{{- /* its own selector, which egressservice.yaml ANDs with the VRF's nodes */}}
{{- with $svc.nodeSelector }}
{{- $_ := set $entry "nodeSelector" . }}
{{- end }}
{{- if hasKey $narrowed $key }}
{{- /* the label its own advertisement selects: the Service must carry it */}}
{{- $_ := set $entry "serviceLabels" (include "symmetric-routing.egressServiceSelectorLabel" $ctx | fromJson) }}
{{- end }}
{{- $egress = append $egress $entry }}
{{- end }}
{{- $policies := list }}
{{- range $derived.policies }}
{{- /* no nodeSelector: the VRF's, with a per-node policy's hostname (plan.py reads it so) */}}
{{- $policies = append $policies (omit . "desiredStateYaml" "nodeSelector" (.node | empty | ternary "node" "")) }}
{{- end }}
{{- /* what every policy of the VRF sends besides its ports, once (per node it would repeat);
not the VRF interface, which plan.py makes from the name, tableId and ports, as _model.tpl does */}}
{{- $shared := $derived.shared }}
{{- $state := dict "extraInterfaces" $shared.extras "routing" $shared.rest }}
{{- $vrfs = append $vrfs (dict "name" $vrfName "tableId" (int64 $vrf.tableId) "nodeSelector" (($vrf.policy | default dict).nodeSelector | default dict) "policyState" $state "policies" $policies "pools" $pools "peers" $peers "advertisements" $advertisements "egressServices" $egress) }}
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
  "poolServiceLabel" (include "symmetric-routing.poolServiceLabel" "" | fromJson | keys | first)
  "cleanupLease" (include "symmetric-routing.cleanupLease" .)
  "frrK8sNamespace" (include "symmetric-routing.frrK8sNamespace" .)
  "hookAdmissionPolicy" (ne (include "symmetric-routing.hookAdmission" .) "" | ternary (include "symmetric-routing.hooksClusterName" (dict "root" . "role" "hooks")) "") }}
{{- with $v.communities.aliases }}
{{- $_ := set $plan "communities" (keys . | sortAlpha) }}
{{- end }}
{{- toJson $plan }}
{{- end }}

{{/*
symmetric-routing.hooksName: the name of the hooks' ConfigMap.
symmetric-routing.hooksServiceAccountName: the ServiceAccount that the pods of a hook role
(preflight, cleanup, wait, verify) run as and that its bindings name: one per role, so that no
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
each, as JSON: {"preflight": "pre-install,pre-upgrade", "cleanup": ..., "wait": ..., "verify": "test"}.
*/}}
{{- define "symmetric-routing.hookRoles" -}}
{{- $roles := dict }}
{{- if and .Values.vrfs .Values.preflight.enabled }}
{{- $_ := set $roles "preflight" "pre-install,pre-upgrade" }}
{{- end }}
{{- with include "symmetric-routing.cleanupHooks" . }}
{{- $_ := set $roles "cleanup" . }}
{{- end }}
{{- if and .Values.vrfs .Values.rollout.wait }}
{{- $_ := set $roles "wait" (include "symmetric-routing.waitHooks" .) }}
{{- end }}
{{- if and .Values.vrfs .Values.tests.enabled }}
{{- $_ := set $roles "verify" "test" }}
{{- end }}
{{- toJson $roles }}
{{- end }}

{{/*
symmetric-routing.hookAdmission: "true" when the hooks' writes are confined by the release's
ValidatingAdmissionPolicy (templates/validatingadmissionpolicy.yaml) instead of by name:
some hook role renders and the cluster serves admissionregistration.k8s.io/v1
ValidatingAdmissionPolicy and its binding (Kubernetes 1.30, OpenShift 4.17 and later).
Helm fills .Capabilities.APIVersions from the cluster's discovery with "<group/version>/<Kind>"
entries (helm v3.19 pkg/action/action.go and v4.1 pkg/action/action.go, GetVersionSet);
`helm template` has no cluster and knows group/versions only, so it renders the fallback
unless given --api-versions; Argo CD passes the destination cluster's own, kinds included
(argo-cd util/argo/argo.go, APIResourcesToStrings with includeKinds).
*/}}
{{- define "symmetric-routing.hookAdmission" -}}
{{- $apis := .Capabilities.APIVersions }}
{{- if and (include "symmetric-routing.hookRoles" . | fromJson) ($apis.Has "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy") ($apis.Has "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding") -}}
true
{{- end }}
{{- end }}

{{/*
symmetric-routing.hookUsers: the user names the API server gives the hook pods, one per
hook ServiceAccount ("system:serviceaccount:<namespace>:<name>", apiserver
pkg/authentication/serviceaccount/util.go, MakeUsername), as a sorted JSON list.
*/}}
{{- define "symmetric-routing.hookUsers" -}}
{{- $users := list }}
{{- range $role := keys (include "symmetric-routing.hookRoles" . | fromJson) }}
{{- $account := include "symmetric-routing.hooksServiceAccountName" (dict "root" $ "role" $role) }}
{{- $users = append $users (printf "system:serviceaccount:%s:%s" $.Release.Namespace $account) }}
{{- end }}
{{- $users | sortAlpha | uniq | toJson }}
{{- end }}

{{/*
symmetric-routing.hookAdmissionPolicySpec: the spec of the release's ValidatingAdmissionPolicy
(admissionregistration.k8s.io/v1, Kubernetes api/admissionregistration/v1/types.go at
v1.36.3). It applies only to requests of the release's hook ServiceAccounts (matchConditions,
request.userInfo.username) that create, update or delete a NodeNetworkConfigurationPolicy or
a BGPPeer, and refuses (1) any change of the owner labels (symmetric-routing.ownerLabels),
(2) a write to an object that does not carry the release's (oldObject; null on create), and
(3) a write that leaves an object without them (object; null on delete). The API server
reports the first failed validation (apiserver v0.36.3 pkg/admission/plugin/policy/
validating/dispatcher.go), so a relabelling is named as one. failurePolicy Fail: an error
in an expression refuses too.
*/}}
{{- define "symmetric-routing.hookAdmissionPolicySpec" -}}
{{- $owner := printf "%s/%s" .Release.Namespace .Release.Name }}
{{- $labels := include "symmetric-routing.ownerLabels" . | fromJson }}
{{- $shown := list }}
{{- range $key := keys $labels | sortAlpha }}
{{- $shown = append $shown (printf "%s=%s" $key (get $labels $key)) }}
{{- end }}
{{- $shown = join ", " $shown }}
{{- $who := printf "the hooks of release %s" $owner }}
{{- $keys := keys $labels | sortAlpha | join " and " }}
{{- /* '<none>' cannot be a label value (it holds '<'): an absent label differs from every value */}}
{{- $label := "%s.metadata.?labels[?key].orValue('<none>')" -}}
failurePolicy: Fail
matchConstraints:
  resourceRules:
    - apiGroups: [nmstate.io]
      apiVersions: ["*"]
      operations: [CREATE, UPDATE, DELETE]
      resources: [nodenetworkconfigurationpolicies, nodenetworkconfigurationpolicies/*]
    - apiGroups: [metallb.io]
      apiVersions: ["*"]
      operations: [CREATE, UPDATE, DELETE]
      resources: [bgppeers, bgppeers/*]
matchConditions:
  - name: release-hook-accounts
    expression: {{ printf "request.userInfo.username in %s" (include "symmetric-routing.hookUsers" .) | quote }}
variables:
  - name: owner
    expression: {{ $labels | toJson | quote }}
  - name: oldIsOwn
    expression: {{ printf "oldObject != null && variables.owner.all(key, %s == variables.owner[key])" (printf $label "oldObject") | quote }}
  - name: newIsOwn
    expression: {{ printf "object != null && variables.owner.all(key, %s == variables.owner[key])" (printf $label "object") | quote }}
validations:
  - expression: {{ printf "oldObject == null || object == null || variables.owner.all(key, %s == %s)" (printf $label "oldObject") (printf $label "object") | quote }}
    message: {{ printf "%s may not change the labels %s of a NodeNetworkConfigurationPolicy or BGPPeer" $who $keys | quote }}
    messageExpression: {{ printf "%s + request.resource.resource + ' ' + request.name + %s" (printf "%s may not relabel " $who | toJson) (printf ": its labels %s must stay as they are" $keys | toJson) | quote }}
    reason: Forbidden
  - expression: "oldObject == null || variables.oldIsOwn"
    message: {{ printf "%s may write only the release's own NodeNetworkConfigurationPolicies and BGPPeers (labelled %s)" $who $shown | quote }}
    messageExpression: {{ printf "%s + request.resource.resource + ' ' + request.name + %s" (printf "%s may write only the release's own policies and peers: " $who | toJson) (printf " is not labelled %s" $shown | toJson) | quote }}
    reason: Forbidden
  - expression: "object == null || variables.newIsOwn"
    message: {{ printf "%s may not leave a NodeNetworkConfigurationPolicy or BGPPeer without the labels %s" $who $shown | quote }}
    messageExpression: {{ printf "%s + request.resource.resource + ' ' + request.name + %s" (printf "%s may write only the release's own policies and peers: " $who | toJson) (printf " would not be labelled %s" $shown | toJson) | quote }}
    reason: Forbidden
{{- end }}

{{- define "symmetric-routing.hooksClusterName" -}}
{{- printf "%s-%s-%s" .root.Release.Namespace (include "symmetric-routing.fullname" .root) .role }}
{{- end }}

{{/*
symmetric-routing.frrK8sNamespace: where FRR-K8s runs and writes its BGPSessionStates, which
`verify --status` reads there: metallb.frrK8sNamespace, else openshift-frr-k8s on OpenShift
(the Cluster Network Operator runs FRR-K8s there and the MetalLB Operator uses it,
metallb-operator FRRK8S_EXTERNAL_NAMESPACE), else MetalLB's namespace (metallb's Helm chart
and metallb-operator deploy FRR-K8s beside MetalLB).
*/}}
{{- define "symmetric-routing.frrK8sNamespace" -}}
{{- .Values.metallb.frrK8sNamespace | default (eq .Values.platform "openshift" | ternary "openshift-frr-k8s" .Values.metallb.namespace) }}
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
{{- if include "symmetric-routing.teardownMode" . }}
{{- $hooks = append $hooks "pre-delete" }}
{{- end }}
{{- join "," $hooks }}
{{- end }}

{{/*
symmetric-routing.teardownMode: what the teardown Job (pre-delete) does: "nodes" with
cleanup.onUninstall (the nodes' VRFs, then the peers that name a BFD profile), "peers"
without it when a peer names a BFD profile (only those peers: MetalLB's webhook refuses to
delete a profile a peer still names, metallb internal/k8s/webhooks/webhookv1beta1/
bfdprofile_webhook.go v0.16.1 validateBFDDelete, and Helm deletes BFDProfile first), or
empty: no teardown.
*/}}
{{- define "symmetric-routing.teardownMode" -}}
{{- if .Values.vrfs }}
{{- if .Values.cleanup.onUninstall }}
{{- "nodes" }}
{{- else }}
{{- /* whether a peer names a BFD profile: every peer is read, once per render (each hook
     template asks, through symmetric-routing.hookRoles) */}}
{{- if not (hasKey . "symmetricRoutingBfdPeers") }}
{{- $bfd := false }}
{{- range $vrf := values .Values.vrfs }}
{{- range $peer := values ($vrf.bgpPeers | default dict) }}
{{- if $peer.bfdProfile }}{{ $bfd = true }}{{ end }}
{{- end }}
{{- end }}
{{- $_ := set . "symmetricRoutingBfdPeers" $bfd }}
{{- end }}
{{- if .symmetricRoutingBfdPeers }}
{{- "peers" }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
symmetric-routing.waitHooks: the Helm hooks of the wait Job (rollout.wait): after each change
Helm makes to the policies. Argo CD maps post-install and post-upgrade to PostSync.
*/}}
{{- define "symmetric-routing.waitHooks" -}}
post-install,post-upgrade,post-rollback
{{- end }}

{{/*
symmetric-routing.hookPhases: the Helm hooks the shared hook objects (the ConfigMap; the one
ServiceAccount that hooks.serviceAccount.name names) serve: the union of the hook roles'
hooks (symmetric-routing.hookRoles). Empty when no Job is enabled.
*/}}
{{- define "symmetric-routing.hookPhases" -}}
{{- $roles := include "symmetric-routing.hookRoles" . | fromJson }}
{{- $phases := list }}
{{- range $role := list "preflight" "cleanup" "wait" "verify" }}
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
`python3 -m symrouting <args> --plan=...` from the hooks ConfigMap's zip on a stock Python
image.
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
        value: {{ $mount }}/symrouting.zip
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
        - key: symrouting.zip
          path: symrouting.zip
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
